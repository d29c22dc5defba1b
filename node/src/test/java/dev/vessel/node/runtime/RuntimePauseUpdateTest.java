package dev.vessel.node.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.node.DaemonProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * vessel-runtime's pause, resume, ps, update and events (and vessel's pause, unpause, top and update) on real
 * containers: the cgroup freezer really stops the task, the limits land in its cgroups, and a daemon killed
 * with SIGKILL leaves a paused container paused and an updated one with its new limits.
 */
class RuntimePauseUpdateTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Counts in a file of the container's own /dev/shm, which the host reads through /proc/PID/root. */
    private static final String COUNTER = "i=0; while :; do i=$((i+1)); echo $i > /dev/shm/counter; sleep 0.02; done";

    @TempDir
    static Path tmp;

    static RuntimeFixture runtime;
    static Path rootfs;

    @BeforeAll
    static void setUp() throws Exception {
        DaemonProcess.requireRoot();
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        runtime = new RuntimeFixture(tmp.resolve("runtime"));
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (runtime != null) {
            runtime.close();
            assertFalse(ProcessHandle.of(runtime.daemonPid()).isPresent(), "the test's vesseld still runs");
        }
    }

    @Test
    void pauseFreezesTheTaskAcrossADaemonRestartAndResumeThawsIt() throws Exception {
        Path bundle = runtime.bundle("counting", rootfs, "sh", "-c", COUNTER);
        runtime.ok("run", "--detach", "--bundle", bundle.toString(), "counting");
        long pid = state("counting").get("pid").asLong();
        Path counter = Path.of("/proc", Long.toString(pid), "root", "dev", "shm", "counter");
        long first = awaitCounterAbove(counter, 0);

        RuntimeFixture.Result notPaused = runtime.run("resume", "counting");
        assertEquals(1, notPaused.exitCode());
        assertTrue(notPaused.stderr().contains("container not paused"), notPaused.stderr());

        runtime.ok("pause", "counting");
        JsonNode paused = state("counting");
        assertEquals("paused", paused.get("status").asText(), paused.toString());
        assertEquals(pid, paused.get("pid").asLong(), "a paused container keeps its pid");
        assertEquals("FROZEN", freezerState(pid));
        long frozenAt = counter(counter);
        assertTrue(frozenAt >= first);
        Thread.sleep(300); // 15 rounds of the loop, were it running
        assertEquals(frozenAt, counter(counter), "a frozen task does not count");
        RuntimeFixture.Result again = runtime.run("pause", "counting");
        assertEquals(1, again.exitCode());
        assertTrue(again.stderr().contains("container not running"), again.stderr());
        RuntimeFixture.Result delete = runtime.run("delete", "counting");
        assertTrue(delete.stderr().contains("not stopped: paused"), delete.stderr());

        // ps: the task's pid, and its sleep's when it has one; as a table, the host's ps lines of those pids
        JsonNode pids = JSON.readTree(runtime.ok("ps", "--format", "json", "counting"));
        assertTrue(pids.isArray() && contains(pids, pid), pids.toString());
        String table = runtime.ok("ps", "counting");
        assertTrue(table.startsWith("UID") && table.lines().skip(1).allMatch(l -> pidsOf(pids).contains(
                l.trim().split("\\s+")[1])) && table.lines().anyMatch(l -> l.trim().split("\\s+")[1].equals(
                Long.toString(pid))), table);
        assertTrue(runtime.ok("ps", "counting", "-o", "pid,args").lines().anyMatch(l -> l.trim().startsWith(pid + " ")));
        assertTrue(runtime.vessel("top", "counting").lines().anyMatch(l -> l.contains(" " + pid + " ")));

        long daemon = runtime.daemonPid();
        ProcessHandle.of(daemon).orElseThrow().destroyForcibly();
        ProcessHandle.of(daemon).ifPresent(p -> p.onExit().orTimeout(30, TimeUnit.SECONDS).join());
        JsonNode recovered = state("counting"); // a new daemon, started by this call
        assertTrue(runtime.daemonPid() != daemon);
        assertEquals("paused", recovered.get("status").asText(), recovered.toString());
        assertEquals("FROZEN", freezerState(pid));
        assertEquals(frozenAt, counter(counter), "still frozen after the daemon's restart");

        runtime.vessel("unpause", "counting");
        assertEquals("running", state("counting").get("status").asText());
        assertEquals("THAWED", freezerState(pid));
        awaitCounterAbove(counter, frozenAt);

        runtime.vessel("pause", "counting");
        assertEquals("paused", state("counting").get("status").asText());
        runtime.ok("resume", "counting");
        awaitCounterAbove(counter, counter(counter));

        // SIGKILL to a frozen task: it is thawed after the kill, so it dies (as with runc)
        runtime.ok("pause", "counting");
        runtime.ok("kill", "counting", "KILL");
        awaitStatus("counting", "stopped");
        runtime.ok("delete", "counting");
    }

    @Test
    void aPausedContainerIsDeletedByForce() throws Exception {
        Path bundle = runtime.bundle("forced", rootfs, "sleep", "600");
        runtime.ok("run", "--detach", "--bundle", bundle.toString(), "forced");
        long pid = state("forced").get("pid").asLong();
        runtime.ok("pause", "forced");
        runtime.ok("delete", "--force", "forced");
        assertEquals(1, runtime.run("state", "forced").exitCode());
        ProcessHandle.of(pid).ifPresent(p -> p.onExit().orTimeout(10, TimeUnit.SECONDS).join());

        runtime.ok("create", "--bundle", bundle.toString(), "unstarted");
        RuntimeFixture.Result created = runtime.run("pause", "unstarted");
        assertEquals(1, created.exitCode());
        assertTrue(created.stderr().contains("container not running"), created.stderr());
        JsonNode ps = JSON.readTree(runtime.ok("ps", "--format", "json", "unstarted"));
        assertTrue(contains(ps, state("unstarted").get("pid").asLong()), "a created task is listed: " + ps);
        runtime.ok("delete", "unstarted");
    }

    @Test
    void updateChangesTheLiveLimitsKeepsThemAcrossARestartAndRefusesWhatItCannotApply() throws Exception {
        Path bundle = runtime.bundle("limited", rootfs, "sleep", "600");
        runtime.ok("run", "--detach", "--bundle", bundle.toString(), "limited");
        long pid = state("limited").get("pid").asLong();

        runtime.ok("update", "--memory", "64m", "--pids-limit", "100", "--cpu-quota", "50000", "--cpu-period",
                "100000", "limited");
        assertEquals(64L << 20, memoryLimit(pid));
        assertEquals("100", cgroupFile(pid, "pids", "pids.max", "pids.max"));
        assertEquals("50000", cgroupFile(pid, "cpu", "cpu.cfs_quota_us", "cpu.max").split(" ")[0]);

        // containerd's CRI moves a container of Kubernetes' static CPU manager with update --cpuset-cpus
        runtime.ok("update", "--cpuset-cpus", "0", "--cpuset-mems", "0", "limited");
        assertEquals("0", cgroupFile(pid, "cpuset", "cpuset.cpus", "cpuset.cpus"));
        assertTrue(Files.readString(Path.of("/proc", Long.toString(pid), "status"))
                .contains("Cpus_allowed_list:\t0\n"));
        RuntimeFixture.Result cpuset = runtime.run("update", "--memory", "32m", "--cpuset-cpus", "0-999", "limited");
        assertEquals(1, cpuset.exitCode());
        assertTrue(cpuset.stderr().contains("resources.cpuset_cpus") && cpuset.stderr().contains("not online"),
                cpuset.stderr());
        runtime.ok("update", "--cpu-shares", "512", "--memory-reservation", "32m", "limited");
        assertEquals(Long.toString(32L << 20), cgroupFile(pid, "memory", "memory.soft_limit_in_bytes", "memory.low"));
        String weight = cgroupFile(pid, "cpu", "cpu.shares", "cpu.weight");
        assertEquals(weight.equals("512") ? "512" : "20", weight, "v1 shares 512, or v2's weight mapped from them");
        // a kubelet's update sends its CFS period without a quota when there is no CPU limit: the limit is kept; a
        // period alone stretches the quota over it, as runc's (50 ms of 200 ms: a quarter CPU, 25 ms of Vessel's 100)
        Path kubelet = Files.writeString(tmp.resolve("kubelet.json"), "{\"cpu\": {\"shares\": 2, \"period\": 100000}}");
        runtime.ok("update", "-r", kubelet.toString(), "limited");
        assertEquals("50000", cgroupFile(pid, "cpu", "cpu.cfs_quota_us", "cpu.max").split(" ")[0]);
        runtime.ok("update", "--cpu-period", "200000", "limited");
        assertEquals("25000", cgroupFile(pid, "cpu", "cpu.cfs_quota_us", "cpu.max").split(" ")[0]);
        RuntimeFixture.Result shares = runtime.run("update", "--cpu-shares", "1", "limited");
        assertTrue(shares.stderr().contains("linux.resources.cpu.shares"), shares.stderr());
        RuntimeFixture.Result size = runtime.run("update", "--memory", "lots", "limited");
        assertTrue(size.stderr().contains("--memory"), size.stderr());
        Path bad = Files.writeString(tmp.resolve("bad.json"), "{\"memory\": {\"limit\": 33554432}, \"blockIO\": {}}");
        RuntimeFixture.Result blockIo = runtime.run("update", "-r", bad.toString(), "limited");
        assertTrue(blockIo.stderr().contains("linux.resources.blockIO"), blockIo.stderr());
        assertEquals(64L << 20, memoryLimit(pid), "a refused update changes nothing");

        Path resources = Files.writeString(tmp.resolve("resources.json"), "{\"memory\": {\"limit\": 134217728}}");
        runtime.ok("update", "--resources", resources.toString(), "limited");
        assertEquals(128L << 20, memoryLimit(pid));
        assertEquals("100", cgroupFile(pid, "pids", "pids.max", "pids.max"), "what the update leaves out stays");
        JsonNode stats = JSON.readTree(runtime.ok("events", "--stats", "limited"));
        assertEquals("stats", stats.get("type").asText(), stats.toString());
        assertEquals("limited", stats.get("id").asText());
        assertEquals(128L << 20, stats.at("/data/memory/usage/limit").asLong(), stats.toString());
        assertTrue(stats.at("/data/memory/usage/usage").asLong() > 0, stats.toString());
        assertEquals(100, stats.at("/data/pids/limit").asLong(), stats.toString());
        assertTrue(stats.at("/data/pids/current").asLong() >= 1, stats.toString());

        long daemon = runtime.daemonPid();
        ProcessHandle.of(daemon).orElseThrow().destroyForcibly();
        ProcessHandle.of(daemon).ifPresent(p -> p.onExit().orTimeout(30, TimeUnit.SECONDS).join());
        assertEquals("running", state("limited").get("status").asText());
        JsonNode kept = JSON.readTree(runtime.vessel("inspect", "limited"));
        JsonNode limits = (kept.isArray() ? kept.get(0) : kept).path("config").path("resources");
        assertEquals(128L << 20, limits.path("memory_bytes").asLong(), kept.toString());
        assertEquals(100, limits.path("pids").asLong(), kept.toString());
        assertEquals(0.25, limits.path("cpus").asDouble(), kept.toString());
        assertEquals(2, limits.path("cpu_shares").asLong(), kept.toString());

        runtime.vessel("update", "--memory", "96m", "limited");
        assertEquals(96L << 20, memoryLimit(pid));
        assertEquals("100", cgroupFile(pid, "pids", "pids.max", "pids.max"));
        runtime.ok("delete", "--force", "limited");
    }

    /**
     * Kubernetes sends a limit for every huge page size of the node (0 for those not asked for): they land in the
     * container's hugetlb cgroup (on this hybrid host the v2 hierarchy's only controller, where only such a container
     * gets a cgroup), an update changes them, and delete removes the cgroup.
     */
    @Test
    void kubernetesHugepageLimitsHoldInTheContainersHugetlbCgroupAndAnUpdateChangesThem() throws Exception {
        // the daemon enables hugetlb for the children of each v2 cgroup down to its parent, the root's too: the test
        // gives the root back as it found it
        Optional<Path> v2Root = CgroupHierarchies.detect().unified().map(h -> h.mountPoint());
        String rootBefore = v2Root.isPresent() ? Files.readString(v2Root.get().resolve("cgroup.subtree_control")) : "";
        try {
            hugepageLimits();
        } finally {
            if (v2Root.isPresent() && !rootBefore.contains("hugetlb")) {
                // the daemon's parent there held only this test's container
                Files.deleteIfExists(v2Root.get().resolve(DaemonLink.cgroupParent(runtime.root)));
                Files.writeString(v2Root.get().resolve("cgroup.subtree_control"), "-hugetlb");
            }
        }
    }

    private void hugepageLimits() throws Exception {
        Path bundle = runtime.bundle("huge", rootfs, "sleep", "600");
        Path config = bundle.resolve("config.json");
        var spec = (com.fasterxml.jackson.databind.node.ObjectNode) JSON.readTree(config.toFile());
        var limits = ((com.fasterxml.jackson.databind.node.ObjectNode) spec.path("linux")).withObject("resources")
                .putArray("hugepageLimits");
        limits.addObject().put("pageSize", "2MB").put("limit", 4L << 20);
        limits.addObject().put("pageSize", "1GB").put("limit", 0);
        Files.writeString(config, spec.toString());
        runtime.ok("run", "--detach", "--bundle", bundle.toString(), "huge");
        long pid = state("huge").get("pid").asLong();
        assertEquals(Long.toString(4L << 20),
                cgroupFile(pid, "hugetlb", "hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.max"));
        assertEquals("0", cgroupFile(pid, "hugetlb", "hugetlb.1GB.limit_in_bytes", "hugetlb.1GB.max"));
        Path hugetlb = cgroupDir(pid, "hugetlb");

        Path resources = Files.writeString(tmp.resolve("huge.json"),
                "{\"hugepageLimits\": [{\"pageSize\": \"2MB\", \"limit\": 0}, {\"pageSize\": \"1GB\", \"limit\": 0}]}");
        runtime.ok("update", "-r", resources.toString(), "huge");
        assertEquals("0", cgroupFile(pid, "hugetlb", "hugetlb.2MB.limit_in_bytes", "hugetlb.2MB.max"));
        Path odd = Files.writeString(tmp.resolve("odd.json"),
                "{\"hugepageLimits\": [{\"pageSize\": \"3MB\", \"limit\": 0}]}");
        RuntimeFixture.Result refused = runtime.run("update", "-r", odd.toString(), "huge");
        assertEquals(1, refused.exitCode());
        assertTrue(refused.stderr().contains("resources.hugepage_limits[3MB]") && refused.stderr().contains("is not a"
                + " huge page size of this node's"), refused.stderr());

        runtime.ok("delete", "--force", "huge");
        assertFalse(Files.exists(hugetlb), hugetlb + " must go with its container");

        // a container without limits is not placed with hugetlb at all
        Path plain = runtime.bundle("no-huge", rootfs, "sleep", "600");
        runtime.ok("run", "--detach", "--bundle", plain.toString(), "no-huge");
        long plainPid = state("no-huge").get("pid").asLong();
        Path notOwn = cgroupDir(plainPid, "hugetlb");
        assertFalse(notOwn.toString().contains("no-huge"), "a hugetlb cgroup of its own: " + notOwn);
        runtime.ok("delete", "--force", "no-huge");
    }

    /** The directory of {@code pid}'s cgroup in the hierarchy of {@code controller} (v1), else its v2 one. */
    private static Path cgroupDir(long pid, String controller) throws Exception {
        List<String[]> lines = Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup")).stream()
                .map(l -> l.split(":", 3)).toList();
        Optional<String[]> v1 = lines.stream().filter(f -> List.of(f[1].split(",")).contains(controller)).findFirst();
        return v1.isPresent() ? Path.of("/sys/fs/cgroup", controller, v1.get()[2])
                : Path.of(CgroupHierarchies.detect().unified().orElseThrow().mountPoint().toString(),
                        lines.stream().filter(f -> f[0].equals("0")).findFirst().orElseThrow()[2]);
    }

    private static JsonNode state(String id) throws Exception {
        return JSON.readTree(runtime.ok("state", id));
    }

    private static void awaitStatus(String id, String status) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!runtime.run("state", id).stdout().contains("\"status\":\"" + status + "\"")) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " never became " + status + ": " + runtime.run("state", id));
            }
            Thread.sleep(50);
        }
    }

    private static long counter(Path file) throws Exception {
        String text = Files.exists(file) ? Files.readString(file).trim() : "";
        return text.isEmpty() ? 0 : Long.parseLong(text);
    }

    /** The counter once it passed {@code value}; fails after 30 s. */
    private static long awaitCounterAbove(Path file, long value) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long now;
        while ((now = counter(file)) <= value) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("the counter stays at " + now + ", not above " + value);
            }
            Thread.sleep(20);
        }
        return now;
    }

    private static boolean contains(JsonNode array, long pid) {
        for (JsonNode p : array) {
            if (p.asLong() == pid) {
                return true;
            }
        }
        return false;
    }

    private static List<String> pidsOf(JsonNode array) {
        List<String> out = new java.util.ArrayList<>();
        array.forEach(p -> out.add(p.asText()));
        return out;
    }

    private static long memoryLimit(long pid) throws Exception {
        return Long.parseLong(cgroupFile(pid, "memory", "memory.limit_in_bytes", "memory.max"));
    }

    /** FROZEN or THAWED, from the v1 freezer, or from v2's cgroup.freeze. */
    private static String freezerState(long pid) throws Exception {
        String v2 = cgroupFile(pid, "freezer", "freezer.state", "cgroup.freeze");
        return v2.equals("1") ? "FROZEN" : v2.equals("0") ? "THAWED" : v2;
    }

    /** A control file of the task's cgroup for {@code controller}: v1's {@code v1File}, or v2's {@code v2File}. */
    /** A file of {@code pid}'s cgroup of {@code controller}: its v1 name where the controller is on v1, else v2's. */
    private static String cgroupFile(long pid, String controller, String v1File, String v2File) throws Exception {
        Path dir = cgroupDir(pid, controller);
        return Files.readString(dir.resolve(Files.exists(dir.resolve(v1File)) ? v1File : v2File)).trim();
    }
}
