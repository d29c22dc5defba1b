package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.linux.PosixAcls;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.node.ApiClient;
import dev.vessel.node.DaemonProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A real vesseld running VM tasks and process containers side by side, through its HTTP API. */
class VmDaemonTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final String cgroupParent = "vessel-vmtest-" + ProcessHandle.current().pid();
    private Path dir;
    private Path rootfs;
    private DaemonProcess daemon;

    @BeforeEach
    void setUp() throws Exception {
        VmNode.requireRootAndLibvirt();
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-vmd-");
        QemuUser.ofHost().allow(dir, PosixAcls.EXECUTE); // QEMU's user reaches the state dir and rootfs in it
        rootfs = BusyboxRootfs.create(dir.resolve("rootfs"));
        daemon = startDaemon();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (daemon != null) {
            ApiClient api = ApiClient.unix(daemon.socket);
            JSON.readTree(api.get("/v1/containers").body()).get("containers")
                    .forEach(c -> {
                        try {
                            api.delete("/v1/containers/" + c.get("id").asText() + "?force=1");
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
            daemon.stop();
        }
        DaemonProcess.removeCgroupParent(cgroupParent);
        if (dir != null) {
            VmNode.run("rm", "-rf", dir.toString());
        }
    }

    private DaemonProcess startDaemon(String... extraArgs) throws Exception {
        return startDaemon(Map.of(), extraArgs);
    }

    private DaemonProcess startDaemon(Map<String, String> env, String... extraArgs) throws Exception {
        return startDaemonWith(VmNode.artifactsDir().toAbsolutePath(), env, extraArgs);
    }

    private DaemonProcess startDaemonWith(Path guestArtifacts, Map<String, String> env, String... extraArgs) throws Exception {
        List<String> args = new ArrayList<>(List.of("--guest-artifacts", guestArtifacts.toString()));
        args.addAll(List.of(extraArgs));
        return DaemonProcess.start(dir.resolve("node"), cgroupParent, env, args.toArray(String[]::new));
    }

    /**
     * Guest artifacts whose guest boots and never says hello: the real kernel, and an initramfs whose
     * /init is busybox's init with nothing to run, which idles for ever.
     */
    private Path guestThatNeverSaysHello() throws Exception {
        Path guest = Files.createDirectories(dir.resolve("mute-guest"));
        Path root = Files.createDirectories(guest.resolve("root"));
        Files.copy(Path.of("/bin/busybox"), root.resolve("init"));
        VmNode.run("chmod", "-R", "a+rX", dir.toString());
        Path initrd = guest.resolve("initramfs.cpio");
        VmNode.run("sh", "-c", "cd " + root + " && echo init | cpio -o -H newc > " + initrd);
        java.util.Properties real = new java.util.Properties();
        try (var in = Files.newBufferedReader(VmNode.artifactsDir().resolve("artifacts.properties"))) {
            real.load(in);
        }
        Files.writeString(guest.resolve("artifacts.properties"), "kernel=" + real.getProperty("kernel") + "\ninitrd="
                + initrd + "\ncmdline=" + real.getProperty("cmdline") + "\n");
        VmNode.run("chmod", "-R", "a+rX", guest.toString());
        return guest;
    }

    private String task(String id, String isolation, String script) {
        ObjectNode body = JSON.createObjectNode().put("id", id).put("isolation", isolation).put("host_rootfs", rootfs.toString());
        body.putArray("command").add("/bin/sh").add("-c").add(script);
        return body.toString();
    }

    private static JsonNode ok(ApiClient.Response r, int status) throws Exception {
        assertEquals(status, r.status(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void aVmTaskAndAProcessContainerRunSideBySide() throws Exception {
        ApiClient api = ApiClient.unix(daemon.socket);

        ok(api.post("/v1/containers", task("in-vm", "VM", "echo from the vm; exit 5")), 201);
        ok(api.post("/v1/containers", task("in-process", "PROCESS", "echo from a process; exit 6")), 201);
        assertEquals(6, ok(api.post("/v1/containers/in-process/wait", ""), 200).get("exit_code").asInt());
        assertEquals(5, ok(api.post("/v1/containers/in-vm/wait", ""), 200).get("exit_code").asInt());
        assertEquals("from the vm\n", api.get("/v1/containers/in-vm/logs?stream=stdout").body());
        assertEquals("from a process\n", api.get("/v1/containers/in-process/logs?stream=stdout").body());
        assertEquals("VM", ok(api.get("/v1/containers/in-vm"), 200).at("/status/isolation").asText());

        ok(api.delete("/v1/containers/in-vm"), 200);
        assertEquals(404, api.get("/v1/containers/in-vm").status());
        VmNode.awaitNoDomain("vessel-in-vm");
    }

    @Test
    void aPinnedWeightedVmTasksHealthCheckRunsInItsGuestAndARunPastItsTimeoutIsKilledThere() throws Exception {
        ApiClient api = ApiClient.unix(daemon.socket);
        // the task counts, each second, the check runs still hanging in its guest
        ObjectNode body = (ObjectNode) JSON.readTree(task("vm-health", "VM",
                "echo up; while :; do echo \"hung $(ps -o args | grep -c '^[s]leep 600')\"; sleep 1; done"));
        body.putObject("health_check").put("interval_ms", 1000).put("timeout_ms", 3000).put("retries", 1)
                .putArray("test").add("CMD-SHELL").add("cat /hc-ok || exec sleep 600");
        // and pinned to the host's CPU 1: its vCPUs and QEMU's own threads run there, weighing 300 against the others
        body.putObject("resources").put("cpuset_cpus", "1").put("cpuset_mems", "0").put("cpu_shares", 300);
        ok(api.post("/v1/containers", body.toString()), 201);
        long qemu = Long.parseLong(Files.readString(Path.of("/run/libvirt/qemu/vessel-vm-health.pid")).strip());
        try (var threads = Files.list(Path.of("/proc", Long.toString(qemu), "task"))) {
            for (Path thread : threads.toList()) {
                String status = Files.readString(thread.resolve("status"));
                assertTrue(status.contains("Cpus_allowed_list:\t1\n"), thread + ": " + status);
            }
        }
        assertEquals(300, VmNode.domainCpuShares(qemu), "the domain's weight on the host");
        ok(api.post("/v1/containers/vm-health/update", "{\"cpuset_cpus\": \"1\", \"cpuset_mems\": \"0\","
                + " \"cpu_shares\": 3000}"), 200);
        assertEquals(3000, VmNode.domainCpuShares(qemu), "an update weighs the running VM anew");
        ApiClient.Response moved = api.post("/v1/containers/vm-health/update", "{\"cpuset_cpus\": \"0\","
                + " \"cpuset_mems\": \"0\", \"cpu_shares\": 500}");
        assertEquals(400, moved.status(), moved.body());
        assertTrue(moved.body().contains("resources.cpuset_cpus"), moved.body());
        assertEquals(3000, VmNode.domainCpuShares(qemu), "a refused update changed the weight");
        // the host's file, seen in the guest through the rootfs's share
        Files.writeString(rootfs.resolve("hc-ok"), "from the host\n");
        awaitHealth(api, "vm-health", "healthy");
        JsonNode log = ok(api.get("/v1/containers/vm-health"), 200).at("/status/health/log");
        assertEquals("from the host\n", log.get(log.size() - 1).path("output").asText(), log::toString);

        // without the file each run hangs past its timeout: unhealthy, and the hung run is killed in the guest
        Files.delete(rootfs.resolve("hc-ok"));
        awaitHealth(api, "vm-health", "unhealthy");
        log = ok(api.get("/v1/containers/vm-health"), 200).at("/status/health/log");
        assertEquals(-1, log.get(log.size() - 1).path("exit_code").asInt(), log::toString);
        Files.writeString(rootfs.resolve("hc-ok"), "back\n");
        awaitHealth(api, "vm-health", "healthy");
        int printed = api.get("/v1/containers/vm-health/logs?stream=stdout").body().length();
        long deadline = System.nanoTime() + 60_000_000_000L;
        String since = "";
        while (!since.contains("hung 0\n")) {
            assertTrue(System.nanoTime() < deadline, "a check run past its timeout still runs in the guest: " + since);
            Thread.sleep(200);
            since = api.get("/v1/containers/vm-health/logs?stream=stdout").body().substring(printed);
        }
        assertEquals(0, ok(api.get("/v1/containers/vm-health"), 200).at("/status/execs").size(), "checks are no execs");
        ok(api.delete("/v1/containers/vm-health?force=1"), 200);
        VmNode.awaitNoDomain("vessel-vm-health");
    }

    @Test
    void aVmTaskIsCappedAtItsCpusOnTheHostOnceItsTaskStartsAndAnUpdateMovesOrLiftsTheCap() throws Exception {
        ApiClient api = ApiClient.unix(daemon.socket);
        ObjectNode body = (ObjectNode) JSON.readTree(task("vm-capped", "VM", "echo up; exec sleep 600"));
        body.putObject("resources").put("cpus", 0.5);
        ok(api.post("/v1/containers", body.toString()), 201);
        awaitLog(api, "vm-capped", "up\n");
        long qemu = Long.parseLong(Files.readString(Path.of("/run/libvirt/qemu/vessel-vm-capped.pid")).strip());
        // the whole VM, vCPUs and QEMU's threads, gets half a CPU of the host, whatever its guest does
        assertArrayEquals(new long[] {50_000, 100_000}, VmNode.domainCpuQuotaAndPeriod(qemu));
        ok(api.post("/v1/containers/vm-capped/update", "{\"cpus\": 0.25}"), 200);
        assertArrayEquals(new long[] {25_000, 100_000}, VmNode.domainCpuQuotaAndPeriod(qemu));
        ok(api.post("/v1/containers/vm-capped/update", "{}"), 200);
        assertEquals(-1, VmNode.domainCpuQuotaAndPeriod(qemu)[0], "an update without cpus lifts the cap");
        ok(api.delete("/v1/containers/vm-capped?force=1"), 200);
        VmNode.awaitNoDomain("vessel-vm-capped");
    }

    private static void awaitHealth(ApiClient api, String id, String status) throws Exception {
        long deadline = System.nanoTime() + 120_000_000_000L;
        JsonNode seen = null;
        while (System.nanoTime() < deadline) {
            seen = ok(api.get("/v1/containers/" + id), 200).at("/status/health");
            if (seen.path("status").asText().equals(status)) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError(id + " never became " + status + ": " + seen);
    }

    @Test
    void aDaemonKilledWhileAVmTaskRunsStillReportsItsExitAfterRestart() throws Exception {
        ApiClient api = ApiClient.unix(daemon.socket);
        // ends once the test creates the gate file (seen in the guest through the 9p share), which it
        // does while the daemon is down
        ok(api.post("/v1/containers", task("survivor", "VM",
                "echo started; while [ ! -e /tmp/gate ]; do sleep 0.1; done; echo finished; exit 4")), 201);
        awaitLog(api, "survivor", "started\n");

        daemon.kill9();
        Files.createFile(rootfs.resolve("tmp/gate"));
        Thread.sleep(3000);
        daemon = startDaemon();
        api = ApiClient.unix(daemon.socket);

        JsonNode exit = ok(api.post("/v1/containers/survivor/wait", ""), 200);
        assertEquals(4, exit.get("exit_code").asInt(), exit::toString);
        assertEquals("started\nfinished\n", api.get("/v1/containers/survivor/logs?stream=stdout").body());
        ok(api.delete("/v1/containers/survivor"), 200);
        VmNode.awaitNoDomain("vessel-survivor");
    }

    /**
     * Fault injection in a VM's boot, twice: the daemon is parked by the {@code during-vm-boot} test
     * hook once libvirt started the domain, before the guest's hello, and SIGKILLed there. Each next
     * daemon undoes the launch: no domain, no mount, no file of the container, and a process
     * container that exited before still reports its exit code.
     */
    @Test
    void aDaemonKilledDuringAVmBootLeavesNothingOfItAndKeepsExitStatuses() throws Exception {
        ApiClient api = ApiClient.unix(daemon.socket);
        ok(api.post("/v1/containers", task("exits-7", "PROCESS", "exit 7")), 201);
        assertEquals(7, ok(api.post("/v1/containers/exits-7/wait", ""), 200).get("exit_code").asInt());
        Path marker = dir.resolve("fault-marker");
        for (int round = 1; round <= 2; round++) {
            String id = "boot-" + round;
            daemon.stop();
            daemon = startDaemon(Map.of("VESSEL_FAULT_POINT", "during-vm-boot:" + id, "VESSEL_FAULT_MARKER", marker.toString()));
            ApiClient armed = ApiClient.unix(daemon.socket);
            String body = task(id, "VM", "exec sleep 300");
            CompletableFuture<ApiClient.Response> launch = CompletableFuture.supplyAsync(() -> {
                try {
                    return armed.post("/v1/containers", body);
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
            while (!Files.exists(marker)) {
                if (launch.isDone() || System.nanoTime() > deadline) {
                    throw new AssertionError("the daemon never reached during-vm-boot for " + id + "\n" + daemon.output());
                }
                Thread.sleep(20);
            }
            assertTrue(VmNode.domains().contains("vessel-" + id), "libvirt started the domain before the kill");
            daemon.kill9();
            Files.delete(marker);

            daemon = startDaemon();
            api = ApiClient.unix(daemon.socket);
            assertEquals(404, api.get("/v1/containers/" + id).status(), "the interrupted launch is undone");
            VmNode.awaitNoDomain("vessel-" + id);
            assertFalse(Files.exists(dir.resolve("node/run/containers/" + id)), "the container's files are gone");
            String currentId = id;
            assertEquals(List.of(), Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                    .filter(l -> l.contains(dir.toString()) && l.contains(currentId)).toList(), "mounts of " + id);
            JsonNode survivor = ok(api.get("/v1/containers/exits-7"), 200).get("status");
            assertEquals(7, survivor.at("/termination/exit_code").asInt(), survivor::toString);
        }
    }

    /**
     * A VM launch stuck in its guest's boot (the guest never says hello): reads answer meanwhile, and
     * rm -f ends the launch at once, the domain destroyed, instead of waiting out the hello timeout.
     */
    @Test
    void aVmLaunchStuckInItsBootIsEndedByRmForceWhileReadsAnswer() throws Exception {
        daemon.stop();
        daemon = startDaemonWith(guestThatNeverSaysHello(), Map.of());
        ApiClient api = ApiClient.unix(daemon.socket);
        String body = task("mute", "VM", "exit 0");
        CompletableFuture<ApiClient.Response> launch = CompletableFuture.supplyAsync(() -> {
            try {
                return api.post("/v1/containers", body);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (!VmNode.domains().contains("vessel-mute")) {
            if (launch.isDone() || System.nanoTime() > deadline) {
                throw new AssertionError("the domain never started: " + (launch.isDone() ? launch.join() : "") + daemon.output());
            }
            Thread.sleep(50);
        }
        JsonNode listed = ok(api.get("/v1/containers"), 200).get("containers");
        assertEquals("mute", listed.get(0).get("id").asText(), listed::toString);
        assertTrue(api.get("/metrics").body().contains("vessel_containers{state=\"isolating\"} 1"));
        assertFalse(launch.isDone(), "read while the guest boots");

        JsonNode removed = ok(api.delete("/v1/containers/mute?force=1"), 200);
        assertEquals("KILLED", removed.at("/termination/reason").asText(), removed::toString);
        ApiClient.Response failed = launch.get(1, TimeUnit.MINUTES);
        assertEquals(409, failed.status(), failed.body());
        assertTrue(failed.body().contains("container 'mute' was destroyed during its launch"), failed.body());
        VmNode.awaitNoDomain("vessel-mute");
        assertFalse(Files.exists(dir.resolve("node/run/containers/mute")), "the container's files are gone");
    }

    @Test
    void aTaskOnAWarmGuestSurvivesADaemonKillAndTheDeadDaemonsIdleGuestsAreRemoved() throws Exception {
        daemon.stop();
        daemon = startDaemon("--vm-warm-pool", "1");
        ApiClient api = ApiClient.unix(daemon.socket);
        awaitWarmGuestsReady(api, 1);
        // what the waiting guest costs is in /metrics: a booted guest's QEMU holds tens of MiB at least
        String metrics = api.get("/metrics").body();
        long rss = gauge(metrics, "vessel_vm_warm_guests_rss_bytes");
        long pss = gauge(metrics, "vessel_vm_warm_guests_pss_bytes");
        assertTrue(rss > (32L << 20) && pss > 0 && pss <= rss, metrics);
        ok(api.post("/v1/containers", task("warm-survivor", "VM",
                "echo started; while [ ! -e /tmp/gate ]; do sleep 0.1; done; echo finished; exit 4")), 201);
        awaitLog(api, "warm-survivor", "started\n");
        long qemu = ok(api.get("/v1/containers/warm-survivor"), 200).at("/status/pid").asLong();
        awaitWarmGuestsReady(api, 1); // the replacement: an idle guest the crash leaves behind

        daemon.kill9();
        Path pool = dir.resolve("node/run/vm-pool");
        List<String> leftBehind = VmNode.run("ls", pool.toString()).lines().toList();
        assertEquals(2, leftBehind.size(), () -> "the task's guest and the idle one: " + leftBehind);
        Files.createFile(rootfs.resolve("tmp/gate"));
        daemon = startDaemon(); // no pool: every guest of the dead daemon's pool is an orphan now
        api = ApiClient.unix(daemon.socket);

        JsonNode exit = ok(api.post("/v1/containers/warm-survivor/wait", ""), 200);
        assertEquals(4, exit.get("exit_code").asInt(), exit::toString);
        assertEquals("started\nfinished\n", api.get("/v1/containers/warm-survivor/logs?stream=stdout").body());
        ok(api.delete("/v1/containers/warm-survivor"), 200);
        for (String guest : leftBehind) {
            VmNode.awaitNoDomain(guest);
        }
        assertFalse(VmNode.domains().stream().anyMatch(d -> d.startsWith("vessel-warm-")), () -> "warm domains left");
        assertEquals("", VmNode.run("ls", pool.toString()), "warm guests' directories left");
        assertFalse(VmNode.isRunning(qemu), "QEMU runs on");
    }

    @Test
    void aDaemonWithTemplatesRestoresVmTasksAndTheTemplateOfAKilledOneIsRemovedByTheNext() throws Exception {
        daemon.stop();
        daemon = startDaemon("--vm-templates");
        ApiClient api = ApiClient.unix(daemon.socket);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (gauge(api.get("/metrics").body(), "vessel_vm_template_ready") != 1) {
            assertTrue(System.nanoTime() < deadline, "no guest template was saved in 3 minutes");
            Thread.sleep(100);
        }
        ok(api.post("/v1/containers", task("restored", "VM", "echo restored; while [ ! -e /tmp/gate ]; do sleep 0.1; done; exit 5")),
                201);
        awaitLog(api, "restored", "restored\n");
        long qemu = ok(api.get("/v1/containers/restored"), 200).at("/status/pid").asLong();
        assertTrue(Files.readString(Path.of("/proc/" + qemu + "/cmdline")).contains("-incoming\0defer"),
                "the task's guest was booted, not restored from the template");
        Path templates = dir.resolve("node/state/vm-templates");
        assertEquals(1, VmNode.run("ls", templates.toString()).lines().filter(l -> l.startsWith("vessel-template-")).count());

        daemon.kill9();
        Files.createFile(rootfs.resolve("tmp/gate"));
        daemon = startDaemon(); // without templates: the dead daemon's is a leftover
        api = ApiClient.unix(daemon.socket);
        JsonNode exit = ok(api.post("/v1/containers/restored/wait", ""), 200);
        assertEquals(5, exit.get("exit_code").asInt(), exit::toString);
        ok(api.delete("/v1/containers/restored"), 200);
        assertEquals(0, gauge(api.get("/metrics").body(), "vessel_vm_template_ready"));
        assertEquals(0, VmNode.run("ls", templates.toString()).lines().filter(l -> l.startsWith("vessel-template-")).count(),
                "the killed daemon's template is left");
        for (String domain : VmNode.domains()) {
            if (domain.startsWith("vessel-template-") || domain.startsWith("vessel-warm-")) {
                VmNode.awaitNoDomain(domain); // the task's, forgotten once its QEMU is reaped
            }
        }
        assertFalse(VmNode.isRunning(qemu), "QEMU runs on");
    }

    private static long gauge(String metrics, String name) {
        return metrics.lines().filter(l -> l.startsWith(name + " ")).map(l -> Long.parseLong(l.substring(name.length() + 1)))
                .findFirst().orElseThrow(() -> new AssertionError("no " + name + " in\n" + metrics));
    }

    private static void awaitWarmGuestsReady(ApiClient api, int n) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        String metrics = "";
        while (System.nanoTime() < deadline) {
            metrics = api.get("/metrics").body();
            if (metrics.lines().anyMatch(l -> l.equals("vessel_vm_warm_guests_ready " + n))) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the daemon never had " + n + " warm guest(s) ready:\n" + metrics);
    }

    @Test
    void aVmTaskRoundTripThroughTheCli() throws Exception {

        Path shared = Files.createDirectories(dir.resolve("cli-shared"));
        VmNode.Cli run = cli("run", "--vm", "--name", "cli-vm", "--memory", "64m", "-v", shared + ":/shared",
                "--rootfs", rootfs.toString(), "--",
                "sh", "-c", "echo hello from the guest; echo complaint >&2; echo via the cli > /shared/note; exit 2");
        assertEquals(2, run.code(), run::toString);
        assertEquals("hello from the guest\n", run.out(), run::toString);
        assertEquals("complaint\n", run.err(), run::toString);
        assertEquals("via the cli\n", Files.readString(shared.resolve("note")), "a -v volume reaches a VM task");
        VmNode.Cli ps = cli("ps", "-a");
        assertTrue(ps.out().lines().anyMatch(l -> l.startsWith("cli-vm ") && l.contains("TERMINATED") && l.contains(" 2 ")),
                ps::toString);
        assertEquals("hello from the guest\n", cli("logs", "cli-vm").out());
        assertEquals("VM", JSON.readTree(cli("inspect", "--json", "cli-vm").out()).at("/status/isolation").asText());
        assertEquals(0, cli("rm", "cli-vm").code());
        assertFalse(cli("ps", "-a").out().contains("cli-vm"));
    }

    @Test
    void runsVmFlagsSizeTheGuestBootItsKernelAttachADiskKeepTheRootfsOwnersAndSysctlsReachTheGuest() throws Exception {
        Path diskFiles = Files.createDirectories(dir.resolve("cli-disk-files"));
        Files.writeString(diskFiles.resolve("hello.txt"), "hello from the disk\n");
        Path disk = dir.resolve("cli-disk.img");
        VmNode.run("mke2fs", "-q", "-F", "-t", "ext4", "-d", diskFiles.toString(), disk.toString(), "16M");
        // root's own file: QEMU's unprivileged user cannot read it for the guest over 9p; a served rootfs can
        Path secret = rootfs.resolve("secret");
        Files.writeString(secret, "root's own\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        Properties guest = new Properties();
        try (var in = Files.newBufferedReader(VmNode.artifactsDir().resolve("artifacts.properties"))) {
            guest.load(in);
        }

        VmNode.Cli run = cli("run", "--vm", "--name", "cli-vm-flags", "--vm-vcpus", "2", "--vm-memory", "448m",
                "--vm-kernel", guest.getProperty("kernel"), "--vm-initrd", guest.getProperty("initrd"),
                "--vm-kernel-cmdline", guest.getProperty("cmdline") + " vessel.test=flags",
                "--vm-disk", disk + ",target=/disk,ro", "--vm-keep-rootfs-owners", "--sysctl", "net.ipv4.ip_forward=1",
                "--sysctl", "kernel.shmmni=1234", "--rootfs", rootfs.toString(), "--",
                "sh", "-c", "nproc; sed -n 's/^MemTotal: *\\([0-9]*\\) kB$/\\1/p' /proc/meminfo; cat /proc/cmdline;"
                        + " cat /disk/hello.txt; touch /disk/new 2>/dev/null || echo the disk refused a write; cat /secret;"
                        + " echo $(cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni)");
        assertEquals(0, run.code(), run::toString);
        List<String> lines = run.out().lines().toList();
        assertEquals(7, lines.size(), run::toString);
        assertEquals("2", lines.get(0), "--vm-vcpus: " + run);
        long memTotalKib = Long.parseLong(lines.get(1));
        assertTrue(memTotalKib > 400 * 1024 && memTotalKib <= 448 * 1024, "--vm-memory 448m (the default is 512m): "
                + run);
        assertTrue((" " + lines.get(2) + " ").contains(" vessel.test=flags "), "--vm-kernel-cmdline: " + run);
        assertEquals(List.of("hello from the disk", "the disk refused a write", "root's own", "1 1234"),
                lines.subList(3, 7), run::toString);

        JsonNode vm = JSON.readTree(cli("inspect", "--json", "cli-vm-flags").out()).at("/config/vm");
        assertEquals(2, vm.get("vcpus").asInt(), vm::toString);
        assertEquals(448L << 20, vm.get("memory_bytes").asLong(), vm::toString);
        assertEquals(guest.getProperty("kernel"), vm.get("kernel").asText(), vm::toString);
        assertEquals(disk.toString(), vm.at("/disks/0/path").asText(), vm::toString);
        assertTrue(vm.get("keep_rootfs_owners").asBoolean(), vm::toString);
        assertEquals(0, cli("rm", "cli-vm-flags").code());

        // a value the daemon refuses comes back naming the API's field, and nothing is made
        VmNode.Cli small = cli("run", "--vm", "--name", "cli-vm-small", "--vm-memory", "32m", "--rootfs",
                rootfs.toString(), "true");
        assertEquals(125, small.code(), small::toString);
        assertTrue(small.err().contains("vm.memory_bytes"), small::toString);
        assertFalse(cli("ps", "-a").out().contains("cli-vm-small"));
    }

    private VmNode.Cli cli(String... args) throws Exception {
        return VmNode.cli(daemon.socket, dir, args);
    }

    private static void awaitLog(ApiClient api, String id, String expected) throws Exception {
        long deadline = System.nanoTime() + 180_000_000_000L;
        String seen = "";
        while (System.nanoTime() < deadline) {
            seen = api.get("/v1/containers/" + id + "/logs?stream=stdout").body();
            if (seen.equals(expected)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(id + ": stdout never became '" + expected + "', was '" + seen + "'");
    }
}
