package dev.vessel.isolators.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.isolation.IsolatorChain;
import dev.vessel.core.isolation.IsolatorGraph;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.LimitationReason;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.Isolator;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cgroup isolators against the real kernel, driven through an isolator chain as the
 * containerizer drives them, with plain host processes as the tasks (each waits on its stdin until
 * it has been placed in its cgroups, as a launched task waits on its sync pipe).
 */
class CgroupIsolatorsTest {
    @TempDir
    Path tmp;

    final String parent = "vessel-test-" + UUID.randomUUID().toString().substring(0, 8);
    final CgroupHierarchies hierarchies = CgroupHierarchies.detect();
    final CgroupsIsolator cgroups = new CgroupsIsolator(hierarchies, parent);
    final MemoryIsolator memory = new MemoryIsolator(cgroups);
    final CpuIsolator cpu = new CpuIsolator(cgroups);
    final PidsIsolator pids = new PidsIsolator(cgroups);
    final DevicesIsolator devices = new DevicesIsolator(hierarchies);
    final IsolatorChain chain = new IsolatorChain(IsolatorGraph.build(List.of(memory, cpu, pids, devices, cgroups),
            Set.of(ContainerKeys.ROOTFS, ContainerKeys.SANDBOX), ContainerKeys.PROVIDER));
    final List<Process> started = new ArrayList<>();

    @BeforeAll
    static void needsRootAndCgroups() {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("cgroup tests must run as root (they create real cgroups)");
        }
        for (String controller : List.of("memory", "cpu", "pids", "devices")) {
            if (CgroupHierarchies.detect().forController(controller).isEmpty()) {
                throw new IllegalStateException("this host mounts no '" + controller + "' cgroup controller");
            }
        }
    }

    @AfterEach
    void cleanUp() throws Exception {
        started.forEach(Process::destroyForcibly);
        cgroups.recover(List.of()); // removes every cgroup the test left under its parent
        for (CgroupHierarchy h : hierarchies.all()) {
            Files.deleteIfExists(h.mountPoint().resolve(parent));
        }
    }

    ContainerContext context(String id, Resources resources) {
        return TestContainers.context(tmp, id, resources);
    }

    /** Runs {@code script} in busybox sh once it has been isolated; returns the process. */
    Process isolated(ContainerContext ctx, String script) throws IOException {
        Function<Isolator, ContainerContext> contexts = i -> ctx;
        chain.prepare(contexts, Map.of());
        Process p = new ProcessBuilder("busybox", "sh", "-c", "read go; " + script)
                .redirectErrorStream(true).start();
        started.add(p);
        chain.isolate(contexts, p.pid());
        OutputStream release = p.getOutputStream();
        release.write('\n');
        release.flush();
        return p;
    }

    Path dir(String controller, String id) {
        return hierarchies.forController(controller).orElseThrow().mountPoint().resolve(parent).resolve(id);
    }

    @Test
    void theTaskRunsInItsOwnCgroupsAndCleanupKillsEverythingAndRemovesThem() throws Exception {
        ContainerContext ctx = context("c1", Resources.getDefaultInstance());
        Process p = isolated(ctx, "sleep 1000 & sleep 1000 & wait");
        waitFor(() -> CgroupsIsolator.pids(dir("memory", "c1")).size() == 3, "task and children in the cgroup");
        for (String controller : List.of("memory", "cpu", "pids", "devices", "freezer")) {
            assertTrue(CgroupsIsolator.pids(dir(controller, "c1")).contains(p.pid()), controller);
        }
        List<Long> pidsInside = CgroupsIsolator.pids(dir("memory", "c1"));

        chain.cleanup(i -> ctx);

        for (long pid : pidsInside) {
            assertFalse(Files.exists(Path.of("/proc/" + pid + "/status")) && !isZombie(pid), "pid " + pid + " survived");
        }
        for (String controller : List.of("memory", "cpu", "pids", "devices", "freezer")) {
            assertFalse(Files.exists(dir(controller, "c1")), controller + " cgroup left behind");
        }
        chain.cleanup(i -> ctx); // idempotent
    }

    @Test
    void recoveryRemovesCgroupsOfUnknownContainersAndKeepsKnownOnes() throws Exception {
        ContainerContext known = context("known", Resources.getDefaultInstance());
        ContainerContext orphan = context("orphan", Resources.getDefaultInstance());
        isolated(known, "sleep 1000");
        Process o = isolated(orphan, "sleep 1000");

        cgroups.recover(List.of(known));

        assertTrue(Files.exists(dir("memory", "known")));
        assertFalse(Files.exists(dir("memory", "orphan")));
        assertTrue(o.waitFor(5, TimeUnit.SECONDS), "the orphan's process must be killed");
    }

    @Test
    void aMemoryHogEndsWithAnOomLimitation() throws Exception {
        ContainerContext ctx = context("hog", Resources.newBuilder().setMemoryBytes(32L << 20).build());
        Process p = isolated(ctx, "a=xxxxxxxxxxxxxxxx; while true; do a=$a$a; done");
        var limitation = chain.watch(i -> ctx);
        assertEquals(Long.toString(32L << 20), Files.readString(dir("memory", "hog").resolve("memory.limit_in_bytes")).trim());
        Limitation l = limitation.get(30, TimeUnit.SECONDS);
        assertEquals(LimitationReason.OOM, l.getReason());
        assertEquals(32L << 20, l.getResources().getMemoryBytes());
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertEquals(137, p.exitValue(), "the OOM killer ends the hog with SIGKILL");
        chain.cleanup(i -> ctx);
    }

    @Test
    void swapIsOffWhereTheKernelAccountsIt() throws Exception {
        ContainerContext ctx = context("noswap", Resources.newBuilder().setMemoryBytes(48L << 20).build());
        isolated(ctx, "sleep 1000");
        Path memsw = dir("memory", "noswap").resolve("memory.memsw.limit_in_bytes");
        if (Files.exists(memsw)) {
            assertEquals(Long.toString(48L << 20), Files.readString(memsw).trim());
        }
        assertEquals("0", Files.readString(dir("memory", "noswap").resolve("memory.swappiness")).trim());
    }

    @Test
    void aForkBombStopsAtThePidsLimit() throws Exception {
        ContainerContext ctx = context("bomb", Resources.newBuilder().setPids(8).build());
        Process p = isolated(ctx, "n=0; while [ $n -lt 50 ]; do sleep 1000 >/dev/null 2>&1 & n=$((n+1)); done; echo spawned");
        p.waitFor(20, TimeUnit.SECONDS);
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(output.contains("Resource temporarily unavailable") || output.contains("can't fork"), output);
        ResourceStatistics stats = chain.usage(i -> ctx);
        assertEquals(8, stats.getPidsLimit());
        assertTrue(stats.getPidsCurrent() <= 8, "pids.current " + stats.getPidsCurrent());
        chain.cleanup(i -> ctx);
    }

    @Test
    void halfACpuShowsAsThrottling() throws Exception {
        ContainerContext ctx = context("busy", Resources.newBuilder().setCpus(0.5).build());
        long start = System.nanoTime();
        isolated(ctx, "while true; do :; done");
        assertEquals("50000", Files.readString(dir("cpu", "busy").resolve("cpu.cfs_quota_us")).trim());
        // on a busy machine the spinner may not get half a CPU at first: wait for the first throttled period
        ResourceStatistics stats = chain.usage(i -> ctx);
        while (stats.getCpuThrottledPeriods() == 0 && System.nanoTime() - start < 30_000_000_000L) {
            Thread.sleep(200);
            stats = chain.usage(i -> ctx);
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        assertTrue(stats.getCpuThrottledPeriods() > 0, stats.toString());
        assertTrue(stats.getCpuThrottledSeconds() > 0, stats.toString());
        // never more than half a CPU (plus one 100 ms period of slack)
        assertTrue(stats.getCpuUserSeconds() + stats.getCpuSystemSeconds() < 0.5 * elapsed + 0.1, elapsed + " s: " + stats);
    }

    @Test
    void aDeviceOutsideTheAllowlistIsRefused() throws Exception {
        ContainerContext ctx = context("dev", Resources.getDefaultInstance());
        Path kmsg = tmp.resolve("kmsg");
        Process p = isolated(ctx, "busybox mknod " + kmsg + " c 1 11 && (head -c 1 /dev/null && echo null-ok);"
                + " head -c 1 " + kmsg + " || echo refused");
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        String output = new String(p.getInputStream().readAllBytes());
        assertTrue(output.contains("null-ok"), output);
        assertTrue(output.contains("Operation not permitted") && output.contains("refused"), output);
    }

    @Test
    void updateChangesTheLimitsOfARunningTask() throws Exception {
        ContainerContext ctx = context("up", Resources.newBuilder().setMemoryBytes(64L << 20).setCpus(1).setPids(10).build());
        isolated(ctx, "sleep 1000");
        Resources bigger = Resources.newBuilder().setMemoryBytes(128L << 20).setCpus(0.25).setPids(20).build();
        chain.update(i -> ctx, bigger);
        assertEquals(Long.toString(128L << 20), Files.readString(dir("memory", "up").resolve("memory.limit_in_bytes")).trim());
        assertEquals("25000", Files.readString(dir("cpu", "up").resolve("cpu.cfs_quota_us")).trim());
        assertEquals("20", Files.readString(dir("pids", "up").resolve("pids.max")).trim());
        Resources smaller = Resources.newBuilder().setMemoryBytes(32L << 20).build();
        chain.update(i -> ctx, smaller);
        // the shell's own pages stay charged where it started; what it execs afterwards is charged here
        waitFor(() -> chain.usage(i -> ctx).getMemoryUsageBytes() > 0, "memory charged to the new cgroup");
        ResourceStatistics stats = chain.usage(i -> ctx);
        assertEquals(32L << 20, stats.getMemoryLimitBytes());
        assertEquals(PidsIsolator.DEFAULT_MAX, stats.getPidsLimit(), "pids 0 means the default");
    }

    @Test
    void freezeStopsEveryProcessThawResumesThemAndAFrozenCgroupIsStillCleanedUp() throws Exception {
        ContainerContext ctx = context("frozen", Resources.getDefaultInstance());
        Path counter = tmp.resolve("counter");
        Process p = isolated(ctx, "sleep 1000 & i=0; while :; do i=$((i+1)); echo $i > " + counter + "; sleep 0.02; done");
        waitFor(() -> count(counter) > 0, "the loop counting");
        waitFor(() -> chain.processes(i -> ctx).size() >= 2, "the task and its children listed");
        assertTrue(chain.processes(i -> ctx).contains(p.pid()), chain.processes(i -> ctx).toString());

        assertTrue(chain.freeze(i -> ctx, true), "the cgroups isolator is the chain's freezer");
        assertEquals("FROZEN", Files.readString(dir("freezer", "frozen").resolve("freezer.state")).trim());
        long frozenAt = count(counter);
        Thread.sleep(300); // 15 rounds of the loop, were it running
        assertEquals(frozenAt, count(counter), "a frozen process does not run");

        assertTrue(chain.freeze(i -> ctx, false));
        assertEquals("THAWED", Files.readString(dir("freezer", "frozen").resolve("freezer.state")).trim());
        waitFor(() -> count(counter) > frozenAt, "the loop counting again");

        chain.freeze(i -> ctx, true);
        List<Long> inside = chain.processes(i -> ctx);
        chain.cleanup(i -> ctx); // kills and removes a frozen cgroup too
        for (long pid : inside) {
            assertFalse(Files.exists(Path.of("/proc/" + pid + "/status")) && !isZombie(pid), "pid " + pid + " survived");
        }
        assertFalse(Files.exists(dir("freezer", "frozen")));
    }

    static long count(Path file) {
        try {
            String text = Files.exists(file) ? Files.readString(file).trim() : "";
            return text.isEmpty() ? 0 : Long.parseLong(text);
        } catch (IOException | NumberFormatException e) {
            return 0; // caught between the truncate and the write
        }
    }

    static boolean isZombie(long pid) {
        try {
            return Files.readString(Path.of("/proc/" + pid + "/stat")).contains(") Z ");
        } catch (IOException e) {
            return true;
        }
    }

    static void waitFor(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            Thread.sleep(20);
        }
    }
}
