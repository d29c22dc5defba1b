package dev.vessel.node;

import static dev.vessel.core.gpu.FakeGpuHost.H100_A;
import static dev.vessel.core.gpu.FakeGpuHost.H200_B;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.gpu.FakeGpuHost;
import dev.vessel.launcher.process.BusyboxRootfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * vesseld on a fake GPU host (--gpu-sysfs-root, --gpu-proc-root, --gpu-dev-root, --gpu-ld-cache): /v1/info
 * lists the GPUs and their holders, containers get them, and a SIGKILLed daemon's successor keeps the GPUs
 * of the containers still running and frees those of a container that died while it was down.
 */
class GpuDaemonTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static Path rootfs;
    static FakeGpuHost host;
    static FakeGpuHost.DriverFiles driver;

    final String cgroupParent = "vessel-gpu-test-" + UUID.randomUUID().toString().substring(0, 8);
    final List<DaemonProcess> daemons = new ArrayList<>();

    @BeforeAll
    static void fixtures() throws Exception {
        DaemonProcess.requireRoot();
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        host = FakeGpuHost.create(tmp.resolve("gpu-host"));
        driver = host.driverFiles();
    }

    @AfterEach
    void stopDaemons() throws Exception {
        try {
            for (DaemonProcess d : daemons) {
                if (d.alive()) {
                    ApiClient api = ApiClient.unix(d.socket);
                    for (JsonNode c : JSON.readTree(api.get("/v1/containers").body()).get("containers")) {
                        api.delete("/v1/containers/" + c.get("id").asText() + "?force=1");
                    }
                    d.stop();
                }
            }
        } finally {
            DaemonProcess.removeCgroupParent(cgroupParent);
        }
    }

    private DaemonProcess start(Path dir) throws Exception {
        DaemonProcess d = DaemonProcess.start(dir, cgroupParent, "--gpu-sysfs-root", host.sysfs().toString(),
                "--gpu-proc-root", host.proc().toString(), "--gpu-dev-root", host.dev().toString(),
                "--gpu-ld-cache", driver.ldCache().toString(), "--gpu-bin-dir", driver.binDir().toString());
        daemons.add(d);
        return d;
    }

    @Test
    void infoListsTheGpusAndASigkilledDaemonsSuccessorKeepsOnlyTheLiveHoldersGpus() throws Exception {
        Path node = tmp.resolve("node");
        DaemonProcess daemon = start(node);
        ApiClient api = ApiClient.unix(daemon.socket);

        Map<String, JsonNode> gpus = gpus(api);
        assertEquals(List.of("0000:00:02.0", FakeGpuHost.AMD, H100_A, FakeGpuHost.H100_ALONE, H200_B),
                List.copyOf(gpus.keySet()));
        JsonNode h100 = gpus.get(H100_A);
        assertEquals("NVIDIA H100 80GB HBM3", h100.get("model").asText());
        assertEquals("10de:2330", h100.get("ids").asText());
        assertEquals(28, h100.get("iommu_group").asInt());
        assertEquals(List.of(H100_A, FakeGpuHost.H100_A_AUDIO), texts(h100.get("iommu_group_devices")));
        assertEquals(0, h100.get("numa_node").asInt());
        assertEquals("nvidia", h100.get("driver").asText());
        assertEquals("", h100.get("held_by").asText());

        create(api, gpuContainer("live", "exec sleep 600", H100_A));
        create(api, gpuContainer("dies", "exec sleep 600", H200_B));
        assertEquals("live", gpus(api).get(H100_A).get("held_by").asText());
        assertEquals("dies", gpus(api).get(H200_B).get("held_by").asText());
        assertEquals(List.of(H100_A), texts(JSON.readTree(api.get("/v1/containers/live").body()).at("/status/gpus")));
        long diesPid = JSON.readTree(api.get("/v1/containers/dies").body()).at("/status/pid").asLong();

        daemon.kill9();
        // while no daemon runs, one container's task dies
        assertEquals(0, new ProcessBuilder("kill", "-9", Long.toString(diesPid)).start().waitFor());
        for (int i = 0; i < 200 && Files.exists(Path.of("/proc/" + diesPid)); i++) {
            Thread.sleep(25);
        }

        daemon = start(node);
        api = ApiClient.unix(daemon.socket);
        // recovery finds its exit and reaps it (the exit that happened meanwhile), which frees its GPU
        for (int i = 0; i < 400 && !state(api, "dies").equals("TERMINATED"); i++) {
            Thread.sleep(25);
        }
        assertEquals("TERMINATED", state(api, "dies"));
        assertEquals("RUNNING", state(api, "live"));
        gpus = gpus(api);
        assertEquals("live", gpus.get(H100_A).get("held_by").asText());
        assertEquals("", gpus.get(H200_B).get("held_by").asText());

        ApiClient.Response refused = api.post("/v1/containers", gpuContainer("thief", "true", H100_A).toString());
        assertTrue(refused.status() >= 400 && refused.body().contains("resources.gpu_addresses[0]")
                && refused.body().contains("in use by container 'live'"), refused.body());
        create(api, gpuContainer("after", "echo \"$NVIDIA_VISIBLE_DEVICES\"", H200_B));
        JsonNode exit = JSON.readTree(api.post("/v1/containers/after/wait", "").body());
        assertEquals(0, exit.get("exit_code").asInt(), exit.toString());
    }

    private static Map<String, JsonNode> gpus(ApiClient api) throws Exception {
        Map<String, JsonNode> byAddress = new java.util.LinkedHashMap<>();
        ApiClient.Response info = api.get("/v1/info");
        assertEquals(200, info.status(), info.body());
        JSON.readTree(info.body()).get("gpus").forEach(g -> byAddress.put(g.get("address").asText(), g));
        return byAddress;
    }

    private static String state(ApiClient api, String id) throws Exception {
        return JSON.readTree(api.get("/v1/containers/" + id).body()).at("/status/state").asText();
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(v -> out.add(v.asText()));
        return out;
    }

    private static ObjectNode gpuContainer(String id, String script, String... addresses) {
        ObjectNode c = JSON.createObjectNode().put("id", id).put("isolation", "PROCESS").put("host_rootfs", rootfs.toString());
        c.putArray("command").add("/bin/sh");
        c.putArray("args").add("-c").add(script);
        var list = c.putObject("resources").putArray("gpu_addresses");
        for (String a : addresses) {
            list.add(a);
        }
        return c;
    }

    private static void create(ApiClient api, ObjectNode config) throws Exception {
        ApiClient.Response r = api.post("/v1/containers", config.toString());
        assertTrue(r.status() == 200 || r.status() == 201, r.status() + " " + r.body());
    }
}
