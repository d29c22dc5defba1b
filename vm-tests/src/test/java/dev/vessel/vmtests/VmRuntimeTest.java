package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.linux.PosixAcls;
import dev.vessel.node.runtime.Iptables;
import dev.vessel.node.runtime.PodmanFixture;
import dev.vessel.node.runtime.RuntimeFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * vessel-runtime with a VM per container ({@code --vm}, as an engine's second runtime runs it): a bundle's
 * rootfs shared into a guest of its own, its config applied there by the in-guest isolators, through the
 * OCI commands' state transitions. A boot per test.
 */
class VmRuntimeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private Path dir;
    private RuntimeFixture runtime;

    @BeforeEach
    void setUp() throws Exception {
        VmNode.requireRootAndLibvirt();
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-vmrt-");
        QemuUser.ofHost().allow(dir, PosixAcls.EXECUTE); // QEMU's user reaches the rootfs and volumes in it
        runtime = new RuntimeFixture(dir.resolve("runtime"), "--vm");
        Files.createDirectories(runtime.root);
        Files.writeString(runtime.root.resolve("vesseld.json"), JSON.createObjectNode()
                .put("guest_artifacts_dir", VmNode.artifactsDir().toAbsolutePath().toString()).toString());
    }

    @AfterEach
    void tearDown() throws Exception {
        if (runtime != null) {
            runtime.close();
        }
        if (dir != null) {
            VmNode.run("rm", "-rf", dir.toString());
        }
    }

    @Test
    void aVmBundleRunsInItsOwnGuestThroughCreateStartStateKillDelete() throws Exception {
        Path rootfs = BusyboxRootfs.create(dir.resolve("rootfs"));
        Files.createDirectories(rootfs.resolve("writable"));
        VmNode.run("chmod", "0777", rootfs.resolve("writable").toString()); // writable by the guest's user, unless ro
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("in.txt"), "from the host\n");
        Path files = Files.createDirectories(dir.resolve("files")); // bound one by one, never shared whole
        Files.writeString(files.resolve("app.conf"), "app\n");
        Files.writeString(files.resolve("ro.conf"), "ro\n");
        VmNode.run("chmod", "-R", "a+rX", dir.toString());
        VmNode.run("chmod", "0666", files.resolve("app.conf").toString(), files.resolve("ro.conf").toString());

        Path bundle = runtime.bundle("vm-bundle", rootfs, "sh", "-c", String.join("; ",
                "cat /proc/sys/kernel/random/boot_id", "uname -r", "echo foo=$FOO cwd=$(pwd) uid=$(id -u)",
                "cat /data/in.txt", "touch /writable/x 2>&1 | grep -q Read-only && echo root-ro",
                "touch /scratch/x && echo scratch-rw", "cat /etc/app.conf /etc/ro.conf",
                "echo guest >> /etc/app.conf && echo file-rw",
                "(echo x >> /etc/ro.conf) 2>&1 | grep -q Read-only && echo file-ro", "nproc", "grep MemTotal /proc/meminfo",
                "cat /scratch/started", "echo ready",
                "exec sleep 600"));
        ObjectNode config = (ObjectNode) JSON.readTree(bundle.resolve("config.json").toFile());
        ObjectNode process = (ObjectNode) config.get("process");
        ((ArrayNode) process.get("env")).add("FOO=bar");
        process.put("cwd", "/tmp");
        ((ObjectNode) process.get("user")).put("uid", 1000).put("gid", 1000);
        process.putObject("capabilities"); // a non-root user's: none
        ((ObjectNode) config.get("root")).put("readonly", true);
        ArrayNode mounts = (ArrayNode) config.get("mounts");
        mounts.addObject().put("destination", "/data").put("type", "bind").put("source", data.toString())
                .set("options", JSON.valueToTree(List.of("rbind", "ro")));
        mounts.addObject().put("destination", "/etc/app.conf").put("type", "bind")
                .put("source", files.resolve("app.conf").toString()).set("options", JSON.valueToTree(List.of("rbind")));
        mounts.addObject().put("destination", "/etc/ro.conf").put("type", "bind")
                .put("source", files.resolve("ro.conf").toString()).set("options", JSON.valueToTree(List.of("bind", "ro")));
        mounts.addObject().put("destination", "/scratch").put("type", "tmpfs").put("source", "tmpfs")
                .set("options", JSON.valueToTree(List.of("size=1m", "mode=1777")));
        ObjectNode resources = (ObjectNode) config.path("linux").path("resources");
        resources.putObject("memory").put("limit", 600L << 20);
        resources.putObject("cpu").put("quota", 150_000).put("period", 100_000);
        // createContainer: on the host, in the namespaces of the VM's QEMU, once it runs (Kata's rule)
        Path hooked = dir.resolve("create-container.out");
        ObjectNode hooks = config.putObject("hooks");
        hooks.putArray("createContainer").addObject().put("path", "/bin/sh").set("args",
                JSON.valueToTree(List.of("sh", "-c", "{ cat; echo; readlink /proc/self/ns/net; } > " + hooked)));
        // startContainer: in the guest, inside the created container (its mounts, its user), before the program
        hooks.putArray("startContainer").addObject().put("path", "/bin/sh").set("args", JSON.valueToTree(List.of("sh",
                "-c", "{ id -u; grep -o '\"status\":\"created\"' ; uname -r; } > /scratch/started")));
        Files.writeString(bundle.resolve("config.json"), config.toString());

        runtime.ok("create", "--bundle", bundle.toString(), "--pid-file", dir.resolve("vm.pid").toString(), "vmc");
        JsonNode created = state("vmc");
        assertEquals("created", created.get("status").asText(), created.toString());
        assertTrue(created.get("pid").asLong() > 0, created.toString());
        List<String> hook = Files.readAllLines(hooked);
        JsonNode hookState = JSON.readTree(hook.get(0));
        assertEquals("vmc", hookState.get("id").asText(), hook.toString());
        assertEquals(created.get("pid").asLong(), hookState.get("pid").asLong(), "the state names QEMU");
        assertTrue(Files.readString(Path.of("/proc", created.get("pid").asText(), "cmdline")).contains("qemu"));
        assertEquals(Files.readSymbolicLink(Path.of("/proc/self/ns/net")).toString(), hook.get(1), "QEMU's, the host's");
        assertTrue(runtime.vessel("inspect", "vmc").contains("\"VM\""), "the container is a VM task");

        runtime.ok("start", "vmc");
        assertEquals("running", state("vmc").get("status").asText());
        String out = awaitLogs("vmc", "ready\n");
        List<String> lines = out.lines().toList();
        String hostBootId = Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip();
        assertNotEquals(hostBootId, lines.get(0), "the task runs under the guest's kernel, not the host's");
        assertNotEquals(VmNode.run("uname", "-r").strip(), lines.get(1));
        assertEquals(List.of("foo=bar cwd=/tmp uid=1000", "from the host", "root-ro", "scratch-rw", "app", "ro",
                "file-rw", "file-ro", "2"), lines.subList(2, 11), out);
        // 600 MiB for the task and the guest's own overhead: more than the limit, and than the default 512 MiB
        long memTotalKib = Long.parseLong(lines.get(11).replaceAll("[^0-9]", ""));
        assertTrue(memTotalKib > 600 * 1024, lines.get(11));
        assertEquals(List.of("1000", "\"status\":\"created\"", lines.get(1)), lines.subList(12, 15),
                "the startContainer hook ran in the guest's container, as its user, with the state: " + out);
        assertEquals("app\nguest\n", Files.readString(files.resolve("app.conf")), "a bound file is the host's, live");

        runtime.ok("kill", "vmc", "KILL");
        awaitStatus("vmc", "stopped");
        RuntimeFixture.Result notRunning = runtime.run("kill", "vmc", "TERM");
        assertTrue(notRunning.exitCode() != 0 && notRunning.stderr().contains("container not running"),
                notRunning.toString());
        runtime.ok("delete", "vmc");
        RuntimeFixture.Result gone = runtime.run("state", "vmc");
        assertTrue(gone.exitCode() != 0 && gone.stderr().contains("container does not exist"), gone.toString());
        VmNode.awaitNoDomain("vessel-vmc");
        String mountinfo = Files.readString(Path.of("/proc/self/mountinfo"));
        assertFalse(mountinfo.contains("/vm-files/"), "a file bind was left mounted");
        assertFalse(mountinfo.contains("/vm-rootfs-server/"), "the rootfs's view was left mounted");
        assertEquals(List.of(), fileServers(), "the rootfs's file server was left running");
        assertEquals("", VmNode.run("sh", "-c", "ls -A /run/virtiofsd 2>/dev/null | grep " + dir.getFileName() + " || true"),
                "virtiofsd's lock file was left on the host");
    }

    /**
     * A daemon killed with SIGKILL leaves the VM and its rootfs's file server running; the next call's daemon finds
     * the container running, an exec writes the rootfs through the same server, and the delete stops it.
     */
    @Test
    void theRootfsServerOutlivesAKilledDaemonAndGoesWithTheContainer() throws Exception {
        Path rootfs = BusyboxRootfs.create(dir.resolve("rootfs"));
        Path bundle = runtime.bundle("vm-restart", rootfs, "sh", "-c", "echo before > /etc/before; echo ready;"
                + " exec sleep 600");
        ObjectNode config = (ObjectNode) JSON.readTree(bundle.resolve("config.json").toFile());
        ((ObjectNode) config.get("root")).put("readonly", false); // runc's spec makes it read-only
        Files.writeString(bundle.resolve("config.json"), config.toString());
        runtime.ok("create", "--bundle", bundle.toString(), "vmr");
        runtime.ok("start", "vmr");
        awaitLogs("vmr", "ready\n");
        assertEquals("before\n", Files.readString(rootfs.resolve("etc/before")));
        assertEquals(0, Files.getAttribute(rootfs.resolve("etc/before"), "unix:uid"));
        List<String> servers = fileServers();
        assertFalse(servers.isEmpty(), "no file server runs");

        long daemon = runtime.daemonPid();
        ProcessHandle.of(daemon).orElseThrow().destroyForcibly();
        ProcessHandle.of(daemon).ifPresent(p -> p.onExit().join());
        assertEquals("running", state("vmr").get("status").asText(), "after the restart" + runtime.daemonLog());
        assertTrue(runtime.daemonPid() != daemon, "a new daemon serves the root");
        assertEquals(servers, fileServers(), "the file server was restarted or lost");
        // runc's spec keeps CAP_CHOWN from the process: the guest's kernel refuses the chown, not the server
        assertEquals("no-chown\n", runtime.ok("exec", "vmr", "sh", "-c",
                "echo after > /etc/after && (chown 1000 /etc/after 2>/dev/null || echo no-chown)"));
        assertEquals("after\n", Files.readString(rootfs.resolve("etc/after")));
        assertEquals(0, Files.getAttribute(rootfs.resolve("etc/after"), "unix:uid"));

        runtime.ok("kill", "vmr", "KILL");
        awaitStatus("vmr", "stopped");
        runtime.ok("delete", "vmr");
        VmNode.awaitNoDomain("vessel-vmr");
        assertEquals(List.of(), fileServers(), "the rootfs's file server was left running");
        assertEquals("", VmNode.run("find", runtime.root.toString(), "-name", "vm-rootfs-server"),
                "the server's directory was left");
    }

    /**
     * podman with the VM runtime, as podman runs by default but for {@code --network none} (a namespace of
     * loopback alone: a VM without a NIC). podman's file binds (hosts, resolv.conf, hostname, .containerenv) reach
     * the guest one by one; its shareable IPC's /dev/shm is a tmpfs of the guest's. The guest writes podman's layer
     * as a process container's root would: podman finds the files with the owners and modes the guest gave them,
     * and no device node.
     */
    @Test
    void podmanRunsAnImageInAVmThroughTheVmRuntime() throws Exception {
        Path podmanDir = Files.createTempDirectory(Path.of("/var/tmp"), "vrp"); // podman's runroot: 50 characters at most
        PodmanFixture podman = new PodmanFixture(podmanDir, runtime);
        try {
            String id = podman.ok("create", "--network", "none", PodmanFixture.IMAGE, "sh", "-c",
                    String.join("; ", "cat /proc/version", "echo from-the-guest > /etc/written",
                            "mkdir /home/user && chown 1000:1000 /home/user && chmod 4750 /home/user",
                            "su -s /bin/sh nobody -c 'touch /home/user/denied' 2>/dev/null || echo nobody-refused",
                            "grep -q ' /dev/shm tmpfs .*size=65536k' /proc/mounts && echo shm-tmpfs",
                            "mknod /etc/null-node c 1 3 2>/dev/null || echo mknod-refused", "cat /etc/hostname")).strip();
            // podman keeps the layer in a 0700 directory of its 0700 storage: the file server's view needs no ACL there
            String out = podman.ok("start", "--attach", id);
            String hostVersion = Files.readString(Path.of("/proc/version"));
            assertTrue(out.startsWith("Linux version ") && !out.startsWith(hostVersion), out);
            List<String> lines = out.lines().toList();
            assertEquals(List.of("nobody-refused", "shm-tmpfs", "mknod-refused", id.substring(0, 12)),
                    lines.subList(lines.size() - 4, lines.size()), "the last line is podman's bound /etc/hostname: " + out);
            assertEquals("0 exited", podman.ok("inspect", "--format", "{{.State.ExitCode}} {{.State.Status}}", id)
                    .strip());
            Path upper = Path.of(podman.ok("inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", id).strip());
            assertEquals("from-the-guest\n", Files.readString(upper.resolve("etc/written")));
            assertEquals(0, Files.getAttribute(upper.resolve("etc/written"), "unix:uid"), "the guest's root is root");
            assertEquals(1000, Files.getAttribute(upper.resolve("home/user"), "unix:uid"), "the guest's chown");
            assertEquals(1000, Files.getAttribute(upper.resolve("home/user"), "unix:gid"));
            assertEquals(04750, (int) Files.getAttribute(upper.resolve("home/user"), "unix:mode") & 07777);
            assertFalse(Files.exists(upper.resolve("etc/null-node")), "no device node reaches the host");
            String diff = podman.ok("diff", id);
            assertTrue(diff.contains("A /etc/written") && diff.contains("A /home/user"), diff);
            podman.ok("rm", id);
            assertEquals(List.of(), fileServers(), "the rootfs's file server was left running");
            assertFalse(runtime.ok("list", "-q").contains(id), "podman rm deletes the container from Vessel");
        } finally {
            podman.close();
            VmNode.run("rm", "-rf", podmanDir.toString());
        }
    }

    /**
     * A VM container on a podman network with a published port: the guest's NIC is connected to the interface
     * podman made in the namespace it made (vm/network's tc redirect), with its address and routes, so podman's
     * port forwarding reaches the server in the guest. Nothing of it is left after podman rm (taps, qdiscs).
     */
    @Test
    void aVmContainerIsOnItsPodmanNetworkAndServesItsPublishedPort() throws Exception {
        Path podmanDir = Files.createTempDirectory(Path.of("/var/tmp"), "vrn");
        PodmanFixture podman = new PodmanFixture(podmanDir, runtime);
        String network = "vessel-vm-net";
        Iptables before = Iptables.now();
        try {
            podman.ok("network", "create", "--subnet", "10.89.214.0/24", network);
            String id = podman.ok("create", "--network", network, "-p", "10.89.214.1:18214:8080", PodmanFixture.IMAGE,
                    "sh", "-c", "mkdir -p /srv; cat /proc/version > /srv/index.html;"
                            + " ip -4 -o addr show eth0 >> /srv/index.html; exec httpd -f -p 8080 -h /srv").strip();
            podman.ok("start", id);
            String served = PodmanFixture.awaitServed("http://10.89.214.1:18214/index.html", Duration.ofSeconds(180),
                    () -> podman.podman("logs", id) + runtime.daemonLog());
            String hostVersion = Files.readString(Path.of("/proc/version"));
            assertTrue(served.startsWith("Linux version ") && !served.startsWith(hostVersion), "the guest's: " + served
                    + podman.podman("logs", id));
            String address = podman.ok("inspect", "--format",
                    "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", id).strip();
            assertTrue(address.startsWith("10.89.214.") && served.contains(" " + address + "/24"),
                    "the guest has podman's address " + address + " for the container: " + served);
            podman.ok("rm", "-f", id);
            assertEquals("", VmNode.run("sh", "-c", "ip -o link | grep ': vt' || true").strip(), "no tap is left");
        } finally {
            podman.podman("network", "rm", "-f", network);
            podman.close();
            before.restore();
            VmNode.run("rm", "-rf", podmanDir.toString());
        }
    }

    /** The rootfs file servers of this test's daemon (virtiofsd's command line names the rootfs's file). */
    private List<String> fileServers() throws Exception {
        return VmNode.run("sh", "-c", "ps -eo pid=,args= | grep '[v]irtiofsd' | grep " + dir.getFileName()
                + " || true").lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    private JsonNode state(String id) throws Exception {
        return JSON.readTree(runtime.ok("state", id));
    }

    private void awaitStatus(String id, String status) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!state(id).get("status").asText().equals(status)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " never became " + status + ": " + state(id) + runtime.daemonLog());
            }
            Thread.sleep(200);
        }
    }

    /** The task's output through Vessel's own CLI, once it holds {@code text}. */
    private String awaitLogs(String id, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        String logs;
        while (!(logs = runtime.vessel("logs", id)).contains(text)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " never logged " + text + ": " + logs + runtime.daemonLog());
            }
            Thread.sleep(500);
        }
        return logs;
    }
}
