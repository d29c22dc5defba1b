package dev.vessel.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon as a process: one per state directory, and containers that outlive its SIGKILL. */
class DaemonLifecycleTest {
    static final ObjectMapper JSON = new ObjectMapper();
    final String cgroupParent = "vessel-node-test-" + UUID.randomUUID().toString().substring(0, 8);

    @TempDir
    Path tmp;
    DaemonProcess daemon;

    @AfterEach
    void stop() throws Exception {
        try {
            if (daemon != null) {
                ApiClient api = ApiClient.unix(daemon.socket);
                for (JsonNode c : JSON.readTree(api.get("/v1/containers").body()).get("containers")) {
                    api.delete("/v1/containers/" + c.get("id").asText() + "?force=1");
                }
                daemon.stop();
            }
        } finally {
            DaemonProcess.removeCgroupParent(cgroupParent);
        }
    }

    @Test
    void aSecondDaemonOnTheSameStateDirRefusesNamingTheFirst() throws Exception {
        DaemonProcess.requireRoot();
        daemon = DaemonProcess.start(tmp.resolve("node"), cgroupParent);
        // same socket too: the refusal must come before the socket is touched
        DaemonProcess second = DaemonProcess.launch(tmp.resolve("node"), cgroupParent, "second.log");
        assertNotEquals(0, second.awaitExit());
        assertTrue(second.output().contains("another vesseld (pid " + daemon.pid() + ")"), second.output());
        assertEquals(200, ApiClient.unix(daemon.socket).get("/v1/health").status(), "the first one still serves");
    }

    @Test
    void isolationChoosesTheHostsChainAndInfoShowsItPerIsolationClass() throws Exception {
        DaemonProcess.requireRoot();
        daemon = DaemonProcess.start(tmp.resolve("node"), cgroupParent, "--isolation",
                "namespaces,posix/rlimits,filesystem/linux,volume/docker,vm/rootfs,vm/resources");
        JsonNode isolators = JSON.readTree(ApiClient.unix(daemon.socket).get("/v1/info").body()).get("isolators");
        assertEquals(List.of("namespaces", "filesystem/linux", "posix/rlimits", "volume/docker"),
                ContainersApiTest.names(isolators.get("process")), "in chain order, whatever the flag's order");
        assertEquals(List.of("filesystem/linux", "volume/docker", "vm/resources", "vm/rootfs"),
                ContainersApiTest.names(isolators.get("vm")));
        assertTrue(ContainersApiTest.names(isolators.get("vm_guest")).contains("cgroups/memory"), isolators::toString);
    }

    @Test
    void isolationNamingAnUnknownIsolatorOrLeavingOutANeededOneRefusesToStart() throws Exception {
        DaemonProcess.requireRoot();
        DaemonProcess unknown = DaemonProcess.launch(tmp.resolve("node"), cgroupParent, "unknown.log",
                "--isolation", "cgroups,network/bridge");
        assertNotEquals(0, unknown.awaitExit());
        assertTrue(unknown.output().contains("unknown isolator 'network/bridge' (known: cgroups, "), unknown.output());

        DaemonProcess incomplete = DaemonProcess.launch(tmp.resolve("node"), cgroupParent, "incomplete.log",
                "--isolation", "namespaces,vm/network");
        assertNotEquals(0, incomplete.awaitExit());
        assertTrue(incomplete.output().contains("isolator 'vm/network' needs 'network/cni'"), incomplete.output());
    }

    @Test
    void nodeLimitsAreWrittenOnTheDaemonsCgroupParentAndABadOneStopsTheStart() throws Exception {
        DaemonProcess.requireRoot();
        DaemonProcess bad = DaemonProcess.launch(tmp.resolve("node"), cgroupParent, "bad.log",
                "--node-pids-limit", "0");
        assertNotEquals(0, bad.awaitExit());
        assertTrue(bad.output().contains("node_pids_limit"), bad.output());

        daemon = DaemonProcess.start(tmp.resolve("node"), cgroupParent, "--node-memory-limit", "256m",
                "--node-pids-limit", "300");
        CgroupHierarchies hierarchies = CgroupHierarchies.detect();
        CgroupHierarchy memory = hierarchies.forController("memory").orElseThrow();
        Path pids = hierarchies.forController("pids").orElseThrow().mountPoint().resolve(cgroupParent).resolve("pids.max");
        assertEquals("300", Files.readString(pids).strip());
        assertEquals(Long.toString(256L << 20), Files.readString(memory.mountPoint().resolve(cgroupParent)
                .resolve(memory.unified() ? "memory.max" : "memory.limit_in_bytes")).strip());
    }

    @Test
    void containersAndTheirExitCodesSurviveTheDaemonsSigkill() throws Exception {
        DaemonProcess.requireRoot();
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        Path node = tmp.resolve("node");
        daemon = DaemonProcess.start(node, cgroupParent);
        ApiClient api = ApiClient.unix(daemon.socket);
        Path exitGate = tmp.resolve("rootfs/tmp/exit-now");
        create(api, rootfs, "done-before", "exit 3");
        assertEquals(3, JSON.readTree(api.post("/v1/containers/done-before/wait", "").body()).get("exit_code").asInt());
        // ends once the test creates the gate file, which it does while the daemon is down
        create(api, rootfs, "ends-while-down", "while [ ! -e /tmp/exit-now ]; do sleep 0.1; done; exit 7");
        create(api, rootfs, "keeps-running", "exec sleep 300");

        daemon.kill9();
        java.nio.file.Files.createFile(exitGate);
        Thread.sleep(1000);
        daemon = DaemonProcess.start(node, cgroupParent);
        api = ApiClient.unix(daemon.socket);

        Map<String, JsonNode> byId = new HashMap<>();
        JSON.readTree(api.get("/v1/containers").body()).get("containers").forEach(c -> byId.put(c.get("id").asText(), c));
        assertEquals(3, byId.size(), byId::toString);
        assertEquals("TERMINATED", byId.get("done-before").get("state").asText());
        assertEquals(3, byId.get("done-before").at("/termination/exit_code").asInt());
        JsonNode whileDown = JSON.readTree(api.post("/v1/containers/ends-while-down/wait", "").body());
        assertEquals(7, whileDown.get("exit_code").asInt(), whileDown::toString);
        assertEquals("RUNNING", byId.get("keeps-running").get("state").asText());
        JsonNode destroyed = JSON.readTree(api.delete("/v1/containers/keeps-running?force=1").body());
        assertEquals(9, destroyed.at("/termination/signal").asInt(), destroyed::toString);
    }

    private static void create(ApiClient api, Path rootfs, String id, String script) throws Exception {
        String body = JSON.createObjectNode().put("id", id).put("host_rootfs", rootfs.toString())
                .<com.fasterxml.jackson.databind.node.ObjectNode>set("command",
                        JSON.createArrayNode().add("/bin/sh").add("-c").add(script)).toString();
        ApiClient.Response r = api.post("/v1/containers", body);
        assertEquals(201, r.status(), r.body());
    }
}
