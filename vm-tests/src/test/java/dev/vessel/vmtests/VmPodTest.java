package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import dev.vessel.linux.PosixAcls;
import dev.vessel.node.ApiClient;
import dev.vessel.node.DaemonProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * VM pods through a real vesseld and the vessel CLI: one VM (one QEMU, one guest kernel) runs every member
 * of the pod as a task of its guest, each with its own rootfs (an image's view, or a host directory), all
 * sharing the guest's network, IPC and UTS.
 */
class VmPodTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CGROUP_PARENT = "vessel-vmtest-pod-" + ProcessHandle.current().pid();
    private static final String POD = "vmpod";
    private static Path dir;
    private static Path rootfs;
    private static ImageReference image;
    private static DaemonProcess daemon;
    private static ApiClient api;

    @BeforeAll
    static void startDaemon() throws Exception {
        VmNode.requireRootAndLibvirt();
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-vmpod-");
        QemuUser.ofHost().allow(dir, PosixAcls.EXECUTE); // QEMU's user reaches the state dir and rootfs in it
        rootfs = BusyboxRootfs.create(dir.resolve("rootfs"));
        image = VmNode.busyboxImage(dir);
        daemon = DaemonProcess.start(dir.resolve("node"), CGROUP_PARENT, "--guest-artifacts",
                VmNode.artifactsDir().toAbsolutePath().toString());
        api = ApiClient.unix(daemon.socket);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        try {
            if (daemon != null) {
                for (String pod : List.of(POD, "kept", "gone")) {
                    api.delete("/v1/pods/" + pod + "?force=1");
                }
                for (JsonNode c : JSON.readTree(api.get("/v1/containers").body()).get("containers")) {
                    api.delete("/v1/containers/" + c.get("id").asText() + "?force=1");
                }
                daemon.stop();
            }
        } finally {
            DaemonProcess.removeCgroupParent(CGROUP_PARENT);
            if (dir != null) {
                VmNode.run("rm", "-rf", dir.toString());
            }
        }
    }

    /**
     * Two members of one VM pod see one guest (the same boot id, not the host's; the pod's host name), reach
     * each other on 127.0.0.1, and are served by the pod's one QEMU; a third member's exit leaves the pod and
     * the others running; bad members are refused naming the field; pod rm -f leaves nothing behind.
     */
    @Test
    void aVmPodRunsItsMembersAsTasksOfOneGuest() throws Exception {
        List<String> linksBefore = hostLinks();
        VmNode.Cli created = VmNode.cli(daemon.socket, dir, "pod", "create", "--vm", "--sysctl", "net.ipv4.ip_forward=1",
                "--sysctl", "kernel.shmmni=1234", POD);
        assertEquals(0, created.code(), created.out() + created.err());
        JsonNode pod = ok(api.get("/v1/containers/" + POD), 200);
        assertEquals("RUNNING", pod.at("/status/state").asText(), pod::toString);
        long qemu = pod.at("/status/pid").asLong();

        // an image's view (the mapped share) and a host directory (passed through), in the same guest
        ObjectNode server = member("server", """
                cat /proc/sys/kernel/random/boot_id; hostname
                nc -l -p 7000
                sleep 1000
                """);
        String busybox = "oci:" + image.getPath() + ":" + image.getTag();
        ok(api.post("/v1/images/pull", JSON.createObjectNode().put("image", busybox).toString()), 200);
        server.remove("host_rootfs");
        server.put("image", busybox);
        ok(api.post("/v1/containers", server.toString()), 201);
        ObjectNode client = member("client", """
                cat /proc/sys/kernel/random/boot_id; hostname
                until echo hello-over-loopback | nc 127.0.0.1 7000; do sleep 1; done
                sleep 1000
                """);
        ok(api.post("/v1/containers", client.toString()), 201);

        String served = awaitLog("server", l -> l.contains("hello-over-loopback"));
        String sent = awaitLog("client", l -> l.lines().count() >= 2);
        String bootId = served.lines().findFirst().orElseThrow();
        assertEquals(bootId, sent.lines().findFirst().orElseThrow(), "one guest kernel: " + served + " / " + sent);
        assertNotEquals(Files.readString(Path.of("/proc/sys/kernel/random/boot_id")).strip(), bootId,
                "the members run in the guest, not on the host");
        assertEquals(POD, served.lines().skip(1).findFirst().orElseThrow(), "the pod's host name: " + served);
        assertEquals(POD, sent.lines().skip(1).findFirst().orElseThrow(), "the pod's host name: " + sent);

        // one QEMU, one domain: the members' pid is the pod's VM's
        for (String m : List.of("server", "client")) {
            assertEquals(qemu, ok(api.get("/v1/containers/" + m), 200).at("/status/pid").asLong(), m);
            assertFalse(VmNode.domains().contains("vessel-" + m), "no domain of its own for " + m);
        }
        assertTrue(VmNode.domains().contains("vessel-" + POD), VmNode.domains()::toString);
        assertEquals(1, qemusOf("vessel-" + POD), "one QEMU serves the pod");

        // exec into a member runs in its container in the pod's guest: the guest's boot id, its env/cwd, its code
        VmNode.Cli bootOfExec = VmNode.cli(daemon.socket, dir, "exec", "server", "cat", "/proc/sys/kernel/random/boot_id");
        assertEquals(0, bootOfExec.code(), bootOfExec.out() + bootOfExec.err());
        assertEquals(bootId, bootOfExec.out().strip());
        // the pod's kernel parameters: the network's set in the guest by its agent, the IPC one in the pod's namespace
        VmNode.Cli tuned = VmNode.cli(daemon.socket, dir, "exec", "client", "cat", "/proc/sys/net/ipv4/ip_forward",
                "/proc/sys/kernel/shmmni");
        assertEquals("1\n1234\n", tuned.out(), tuned.out() + tuned.err());
        VmNode.Cli shaped = VmNode.cli(daemon.socket, dir, "exec", "-e", "GREETING=hej", "-w", "/tmp", "client", "sh",
                "-c", "echo $GREETING $(pwd) $(hostname); exit 6");
        assertEquals(6, shaped.code(), shaped.out() + shaped.err());
        assertEquals("hej /tmp " + POD, shaped.out().strip());
        assertEquals(3, ok(api.get("/v1/containers/server"), 200).at("/status/execs").size()
                + ok(api.get("/v1/containers/client"), 200).at("/status/execs").size(), "the execs are listed");

        // attach to an interactive member: what is typed reaches it, its answer and its code come back
        ObjectNode talker = member("talker", "read line; echo got $line; exit 4");
        ok(api.post("/v1/containers", talker.put("interactive", true).toString()), 201);
        Process attached = VmNode.cliProcess(daemon.socket, "attach", "talker");
        attached.getOutputStream().write("over-the-channel\n".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        attached.getOutputStream().flush();
        assertTrue(attached.waitFor(4, TimeUnit.MINUTES), "attach ended with its task");
        String answer = new String(attached.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        String attachErr = new String(attached.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(4, attached.exitValue(), answer + attachErr);
        assertEquals("got over-the-channel\n", answer, attachErr);

        // one member's exit leaves the pod and the others running
        ok(api.post("/v1/containers", member("brief", "echo bye; exit 3").toString()), 201);
        JsonNode brief = awaitTerminated("brief");
        assertEquals(3, brief.at("/status/termination/exit_code").asInt(), brief::toString);
        assertEquals("bye\n", Files.readString(memberDir("brief").resolve("stdout.log")));
        assertEquals("RUNNING", ok(api.get("/v1/containers/" + POD), 200).at("/status/state").asText());
        assertEquals("RUNNING", ok(api.get("/v1/containers/server"), 200).at("/status/state").asText());
        assertTrue(VmNode.isRunning(qemu));

        // bad members: refused naming the field, nothing made
        refused(api.post("/v1/containers", member("proc", "true").put("isolation", "PROCESS").toString()), "isolation");
        ObjectNode sized = member("sized", "true");
        sized.putObject("vm").put("vcpus", 2);
        refused(api.post("/v1/containers", sized.toString()), "vm");
        ObjectNode volume = member("volume", "true");
        volume.putArray("volumes").addObject().put("target", "/data").putObject("host_path").put("path", dir.toString());
        refused(api.post("/v1/containers", volume.toString()), "volumes[0]");
        VmNode.Cli processPod = VmNode.cli(daemon.socket, dir, "pod", "create", "plainpod");
        assertEquals(0, processPod.code(), processPod.out() + processPod.err());
        refused(api.post("/v1/containers", member("vmm", "true").put("parent_id", "plainpod").put("isolation", "VM")
                .toString()), "isolation");
        for (String gone : List.of("proc", "sized", "volume", "vmm")) {
            assertEquals(404, api.get("/v1/containers/" + gone).status(), gone);
        }
        assertEquals(0, VmNode.cli(daemon.socket, dir, "pod", "rm", "-f", "plainpod").code());

        // pod rm -f: members then the VM; nothing left
        VmNode.Cli removed = VmNode.cli(daemon.socket, dir, "pod", "rm", "-f", POD);
        assertEquals(0, removed.code(), removed.out() + removed.err());
        VmNode.awaitNoDomain("vessel-" + POD);
        assertFalse(VmNode.isRunning(qemu), "the pod's QEMU is gone");
        for (String id : List.of(POD, "server", "client", "talker", "brief")) {
            assertEquals(404, api.get("/v1/containers/" + id).status(), id);
            assertEquals(List.of(), leftovers(id), id);
        }
        List<String> linksAfter = hostLinks();
        assertTrue(linksBefore.containsAll(linksAfter), () -> "no tap left: " + linksBefore + " then " + linksAfter);
    }

    /**
     * A SIGKILLed daemon's successor finds a VM pod and its members running (the pod's VM, the members' tasks
     * in its guest) and learns their exits, one that came while no daemon ran included; a VM pod whose record
     * went meanwhile leaves no domain, QEMU, rootfs view or cgroup; pod stop ends the pause in the guest, then the VM.
     */
    @Test
    void aVmPodSurvivesADaemonSigkillAndOneGoneMeanwhileLeavesNothing() throws Exception {
        Path gate = BusyboxRootfs.create(dir.resolve("gate-rootfs"));
        String busybox = "oci:" + image.getPath() + ":" + image.getTag();
        ok(api.post("/v1/images/pull", JSON.createObjectNode().put("image", busybox).toString()), 200);
        for (String pod : List.of("kept", "gone")) {
            VmNode.Cli created = VmNode.cli(daemon.socket, dir, "pod", "create", "--vm", pod);
            assertEquals(0, created.code(), created.out() + created.err());
        }
        ok(api.post("/v1/containers", member("kept", "waiter", """
                echo waiting
                until [ -e /go ]; do sleep 0.2; done
                echo went; exit 7
                """).put("host_rootfs", gate.toString()).toString()), 201);
        ok(api.post("/v1/containers", member("kept", "quick", "echo quick; sleep 2; exit 5").toString()), 201);
        ObjectNode doomed = member("gone", "doomed", "echo doomed; exec sleep 1000");
        doomed.remove("host_rootfs");
        ok(api.post("/v1/containers", doomed.put("image", busybox).toString()), 201);
        awaitLog("kept", "waiter", l -> l.contains("waiting"));
        awaitLog("gone", "doomed", l -> l.contains("doomed"));
        long keptQemu = ok(api.get("/v1/containers/kept"), 200).at("/status/pid").asLong();
        long goneQemu = ok(api.get("/v1/containers/gone"), 200).at("/status/pid").asLong();
        assertTrue(Files.isDirectory(daemon.stateDir().resolve("vm-rootfs").resolve("doomed")));

        daemon.kill9();
        Path goneDir = daemon.runDir().resolve("containers").resolve("gone");
        VmNode.run("umount", "-R", "-l", goneDir.resolve("share").toString()); // never delete through the binds
        VmNode.run("rm", "-rf", goneDir.toString());
        daemon = DaemonProcess.start(dir.resolve("node"), CGROUP_PARENT, "--guest-artifacts",
                VmNode.artifactsDir().toAbsolutePath().toString());
        api = ApiClient.unix(daemon.socket);

        JsonNode kept = ok(api.get("/v1/containers/kept"), 200);
        assertEquals("RUNNING", kept.at("/status/state").asText(), kept::toString);
        assertEquals(keptQemu, kept.at("/status/pid").asLong());
        JsonNode waiter = ok(api.get("/v1/containers/waiter"), 200);
        assertEquals("RUNNING", waiter.at("/status/state").asText(), waiter::toString);
        assertEquals(keptQemu, waiter.at("/status/pid").asLong());
        assertEquals(5, awaitTerminated("quick").at("/status/termination/exit_code").asInt(), "its exit, re-sent or seen");
        Files.writeString(gate.resolve("go"), "");
        assertEquals(7, awaitTerminated("waiter").at("/status/termination/exit_code").asInt());
        assertEquals("waiting\nwent\n", Files.readString(memberDir("kept", "waiter").resolve("stdout.log")));
        assertEquals("RUNNING", ok(api.get("/v1/containers/kept"), 200).at("/status/state").asText());

        VmNode.awaitNoDomain("vessel-gone");
        assertFalse(VmNode.isRunning(goneQemu), "the gone pod's QEMU was destroyed");
        for (String id : List.of("gone", "doomed")) {
            assertEquals(404, api.get("/v1/containers/" + id).status(), id);
            assertEquals(List.of(), leftovers(id), id);
        }
        // pod stop: the pause in the guest ends on the stop signal, and with it the VM; then a plain rm
        VmNode.Cli stopped = VmNode.cli(daemon.socket, dir, "pod", "stop", "-t", "60", "kept");
        assertEquals(0, stopped.code(), stopped.out() + stopped.err());
        JsonNode keptEnd = ok(api.get("/v1/containers/kept"), 200);
        assertEquals("TERMINATED", keptEnd.at("/status/state").asText(), keptEnd::toString);
        assertFalse(keptEnd.at("/status/termination/signal").asInt() == 9, "ended by its stop signal: " + keptEnd);
        VmNode.awaitNoDomain("vessel-kept");
        assertFalse(VmNode.isRunning(keptQemu), "the stopped pod's QEMU is gone");
        VmNode.Cli removed = VmNode.cli(daemon.socket, dir, "pod", "rm", "kept");
        assertEquals(0, removed.code(), removed.out() + removed.err());
        for (String id : List.of("kept", "waiter", "quick")) {
            assertEquals(List.of(), leftovers(id), id);
        }
    }

    private static ObjectNode member(String id, String script) {
        return member(POD, id, script);
    }

    private static ObjectNode member(String pod, String id, String script) {
        ObjectNode config = JSON.createObjectNode().put("id", id).put("parent_id", pod)
                .put("host_rootfs", rootfs.toString());
        config.putArray("command").add("/bin/sh").add("-c").add(script);
        return config;
    }

    private static Path memberDir(String id) {
        return memberDir(POD, id);
    }

    private static Path memberDir(String pod, String id) {
        return daemon.runDir().resolve("containers").resolve(pod).resolve("containers").resolve(id);
    }

    private static String awaitLog(String id, Predicate<String> done) throws Exception {
        return awaitLog(POD, id, done);
    }

    private static String awaitLog(String pod, String id, Predicate<String> done) throws Exception {
        Path log = memberDir(pod, id).resolve("stdout.log");
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
        while (true) {
            String text = Files.exists(log) ? Files.readString(log) : "";
            if (done.test(text)) {
                return text;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " wrote only '" + text + "'; "
                        + ok(api.get("/v1/containers/" + id), 200));
            }
            Thread.sleep(200);
        }
    }

    private static JsonNode awaitTerminated(String id) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(4);
        while (true) {
            JsonNode c = ok(api.get("/v1/containers/" + id), 200);
            if (c.at("/status/state").asText().equals("TERMINATED")) {
                return c;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " did not end: " + c);
            }
            Thread.sleep(200);
        }
    }

    /** How many QEMU processes run the domain {@code name}. */
    private static long qemusOf(String name) throws IOException {
        try (Stream<ProcessHandle> all = ProcessHandle.allProcesses()) {
            return all.filter(p -> p.info().arguments().map(a -> String.join(" ", a)).orElse("")
                    .contains("guest=" + name + ",")).count();
        }
    }

    /** The container's cgroups under the test's parent, mounts and run-dir files still on the host. */
    private static List<String> leftovers(String id) throws IOException {
        List<String> found = new ArrayList<>();
        for (CgroupHierarchy h : CgroupHierarchies.detect().all()) {
            Path parent = h.mountPoint().resolve(CGROUP_PARENT);
            if (Files.isDirectory(parent)) {
                try (Stream<Path> all = Files.walk(parent)) {
                    all.filter(Files::isDirectory).filter(p -> p.getFileName().toString().contains(id))
                            .forEach(p -> found.add("cgroup " + p));
                }
            }
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String point = line.split(" ")[4];
            if (point.startsWith(dir.toString()) && point.contains(id)) {
                found.add("mount " + point);
            }
        }
        for (Path p : List.of(daemon.runDir().resolve("containers").resolve(id),
                daemon.stateDir().resolve("vm-rootfs").resolve(id), daemon.stateDir().resolve("rootfs").resolve(id))) {
            if (Files.exists(p)) {
                found.add("file " + p);
            }
        }
        return found;
    }

    private static List<String> hostLinks() throws IOException {
        try (Stream<Path> links = Files.list(Path.of("/sys/class/net"))) {
            return links.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void refused(ApiClient.Response r, String field) throws Exception {
        assertEquals(400, r.status(), r.body());
        assertEquals(field, JSON.readTree(r.body()).path("field").asText(), r.body());
    }

    private static JsonNode ok(ApiClient.Response r, int status) throws Exception {
        assertEquals(status, r.status(), r.body());
        return JSON.readTree(r.body());
    }
}
