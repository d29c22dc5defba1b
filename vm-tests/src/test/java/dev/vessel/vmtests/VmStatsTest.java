package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A VM task's usage ({@code /v1/containers/ID/stats}: the guest's CPU time and memory) and lifecycle events through a real vesseld. */
class VmStatsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CGROUP_PARENT = "vessel-vmtest-stats-" + ProcessHandle.current().pid();
    private static Path dir;
    private static Path rootfs;
    private static DaemonProcess daemon;
    private static ApiClient api;

    @BeforeAll
    static void startDaemon() throws Exception {
        VmNode.requireRootAndLibvirt();
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-vmstats-");
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

    @Test
    void aBusyVmTasksCpuTimeGrowsAndItsMemoryIsShownAndItsLifeIsTold() throws Exception {
        String since = Instant.now().toString();
        ObjectNode task = JSON.createObjectNode().put("id", "vm-stats").put("isolation", "VM")
                .put("host_rootfs", rootfs.toString());
        task.putArray("command").add("/bin/sh").add("-c").add("while :; do :; done");
        assertEquals(201, api.post("/v1/containers", task.toString()).status());

        JsonNode first = stats("vm-stats");
        assertEquals("vm", first.get("isolation").asText(), first::toString);
        assertTrue(first.get("memory_usage_bytes").asLong() > 0, first::toString);
        assertTrue(first.get("memory_limit_bytes").asLong() > 0, first::toString);
        assertFalse(first.get("network_counted").asBoolean(), first::toString); // the guest's network is the guest's
        JsonNode later = first;
        for (int i = 0; i < 600 && later.get("cpu_nanos").asLong() <= first.get("cpu_nanos").asLong(); i++) {
            Thread.sleep(100); // the guest's counters move on while it burns
            later = stats("vm-stats");
        }
        assertTrue(later.get("cpu_nanos").asLong() > first.get("cpu_nanos").asLong(), first + "\n" + later);
        assertTrue(later.get("timestamp_nano").asLong() > first.get("timestamp_nano").asLong(), first + "\n" + later);

        assertEquals(200, api.delete("/v1/containers/vm-stats?force=1").status());
        ApiClient.Response events = api.get("/v1/events?since=" + since + "&until=" + Instant.now() + "&filter=container=vm-stats");
        assertEquals(200, events.status(), events.body());
        List<String> actions = new ArrayList<>();
        for (String line : events.body().lines().toList()) {
            JsonNode event = JSON.readTree(line);
            actions.add(event.get("action").asText());
            assertEquals("vm", event.at("/attributes/isolation").asText(), line);
        }
        assertEquals(List.of("create", "start", "kill", "died", "remove"), actions);
    }

    private static JsonNode stats(String id) throws Exception {
        ApiClient.Response r = api.get("/v1/containers/" + id + "/stats");
        assertEquals(200, r.status(), r.body());
        return JSON.readTree(r.body());
    }
}
