package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.linux.PosixAcls;
import dev.vessel.node.ApiClient;
import dev.vessel.node.DaemonProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * vessel stop of VM tasks through a real vesseld: the stop signal reaches the task in the guest, where
 * --init makes a plain sleep end on it, and a task without init is SIGKILLed once the grace period is over.
 */
class VmStopTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CGROUP_PARENT = "vessel-vmtest-stop-" + ProcessHandle.current().pid();
    private static Path dir;
    private static Path rootfs;
    private static DaemonProcess daemon;
    private static ApiClient api;

    @BeforeAll
    static void startDaemon() throws Exception {
        VmNode.requireRootAndLibvirt();
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-vmstop-");
        QemuUser.ofHost().allow(dir, PosixAcls.EXECUTE); // QEMU's user reaches the state dir and rootfs in it
        rootfs = BusyboxRootfs.create(dir.resolve("rootfs"));
        daemon = DaemonProcess.start(dir.resolve("node"), CGROUP_PARENT, "--guest-artifacts",
                VmNode.artifactsDir().toAbsolutePath().toString());
        api = ApiClient.unix(daemon.socket);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        try {
            if (daemon != null) {
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

    /** The guest's init forwards the stop's SIGTERM: the task ends at once (well within the grace period) with 143. */
    @Test
    void aVmTaskWithInitEndsOnTheStopSignal() throws Exception {
        ObjectNode task = sleeper("vm-init");
        task.put("init", true);
        ok(api.post("/v1/containers", task.toString()), 201);
        JsonNode stopped = ok(api.post("/v1/containers/vm-init/stop?timeout=120", ""), 200);
        assertEquals("TERMINATED", stopped.get("state").asText(), stopped::toString);
        assertEquals(143, stopped.at("/termination/exit_code").asInt(), "the init's 128 + SIGTERM: " + stopped);
        ok(api.delete("/v1/containers/vm-init"), 200);
    }

    /** Without init the task is pid 1 of its namespace in the guest: SIGTERM is ignored, and stop kills it after the grace period. */
    @Test
    void aVmTaskWithoutInitIsKilledAfterTheGracePeriod() throws Exception {
        ok(api.post("/v1/containers", sleeper("vm-plain").toString()), 201);
        JsonNode stopped = ok(api.post("/v1/containers/vm-plain/stop?timeout=2", ""), 200);
        assertEquals("TERMINATED", stopped.get("state").asText(), stopped::toString);
        assertEquals(9, stopped.at("/termination/signal").asInt(), "SIGKILLed after the grace period: " + stopped);
        assertEquals("KILLED", stopped.at("/termination/reason").asText(), stopped::toString);
        ok(api.delete("/v1/containers/vm-plain"), 200);
    }

    private static ObjectNode sleeper(String id) {
        ObjectNode body = JSON.createObjectNode().put("id", id).put("isolation", "VM").put("host_rootfs", rootfs.toString());
        body.putArray("command").add("/bin/sleep").add("1000");
        return body;
    }

    private static JsonNode ok(ApiClient.Response r, int status) throws Exception {
        assertEquals(status, r.status(), r.body());
        return JSON.readTree(r.body());
    }
}
