package dev.vessel.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.launcher.process.BusyboxRootfs;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Images through the API, from an OCI layout umoci builds (no registry): pull, run, list, remove, GC. */
class ImagesApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CGROUP_PARENT = "vessel-node-test-" + UUID.randomUUID().toString().substring(0, 8);

    @TempDir
    static Path tmp;
    static DaemonProcess daemon;
    static ApiClient api;
    static String image;

    @BeforeAll
    static void startDaemonAndBuildImage() throws Exception {
        DaemonProcess.requireRoot();
        Path layout = tmp.resolve("layout");
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        umoci("init", "--layout", layout.toString());
        umoci("new", "--image", layout + ":bb");
        umoci("insert", "--image", layout + ":bb", rootfs.toString(), "/");
        image = "oci:" + layout + ":bb";
        daemon = DaemonProcess.start(tmp.resolve("node"), CGROUP_PARENT);
        api = ApiClient.unix(daemon.socket);
    }

    private static void umoci(String... args) throws Exception {
        Process p = new ProcessBuilder(java.util.stream.Stream.concat(java.util.stream.Stream.of("umoci"),
                java.util.stream.Stream.of(args)).toList()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("umoci " + String.join(" ", args) + " failed (apt-get install umoci):\n" + out);
        }
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (daemon != null) {
                for (JsonNode c : JSON.readTree(api.get("/v1/containers").body()).get("containers")) {
                    api.delete("/v1/containers/" + c.get("id").asText() + "?force=1");
                }
                daemon.stop();
            }
        } finally {
            DaemonProcess.removeCgroupParent(CGROUP_PARENT);
        }
    }

    @Test
    void pullRunRemoveCollect() throws Exception {
        String run = JSON.createObjectNode().put("id", "from-image").put("image", image)
                .<com.fasterxml.jackson.databind.node.ObjectNode>set("command",
                        JSON.createArrayNode().add("/bin/sh").add("-c").add("echo from the image")).toString();
        ApiClient.Response missing = api.post("/v1/containers", run);
        assertEquals(404, missing.status(), missing.body());
        assertEquals("image", JSON.readTree(missing.body()).get("field").asText());

        ApiClient.Response pull = api.post("/v1/images/pull", JSON.createObjectNode().put("image", image).toString());
        assertEquals(200, pull.status(), pull.body());
        List<String> lines = pull.body().lines().toList();
        JsonNode last = JSON.readTree(lines.getLast());
        assertEquals("pulled", last.get("status").asText(), pull.body());
        assertTrue(JSON.readTree(api.get("/v1/images").body()).get("images").toString().contains(image));

        assertEquals(201, api.post("/v1/containers", run).status());
        assertEquals(0, JSON.readTree(api.post("/v1/containers/from-image/wait", "").body()).get("exit_code").asInt());
        assertEquals("from the image\n", api.get("/v1/containers/from-image/logs").body());

        String ref = URLEncoder.encode(image, StandardCharsets.UTF_8);
        assertEquals(200, api.delete("/v1/containers/from-image").status());
        ApiClient.Response removed = api.delete("/v1/images/" + ref);
        assertEquals(200, removed.status(), removed.body());
        assertEquals(404, api.delete("/v1/images/" + ref).status());
        JsonNode gc = JSON.readTree(api.post("/v1/images/gc", "").body());
        assertTrue(gc.get("blobs_removed").asInt() > 0, gc::toString);

        ApiClient.Response badPull = api.post("/v1/images/pull", "{\"image\":\"busybox\",\"extra\":1}");
        assertEquals(400, badPull.status(), badPull.body());
        assertEquals("extra", JSON.readTree(badPull.body()).get("field").asText());
        // a pull's own credentials: refused naming the field, never quoting the secret
        for (String[] bad : new String[][] {
                {"{\"username\":\"u\"}", "credentials.password"},
                {"{\"username\":\"\",\"password\":\"p-secret\"}", "credentials.username"},
                {"{\"username\":\"u\",\"password\":\"p-secret\",\"token\":1}", "credentials.token"},
                {"\"u:p-secret\"", "credentials"}}) {
            ApiClient.Response r = api.post("/v1/images/pull", "{\"image\":\"busybox\",\"credentials\":" + bad[0] + "}");
            assertEquals(400, r.status(), r.body());
            assertEquals(bad[1], JSON.readTree(r.body()).get("field").asText(), r.body());
            assertFalse(r.body().contains("p-secret"), r.body());
        }
    }
}
