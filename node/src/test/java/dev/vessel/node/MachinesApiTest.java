package dev.vessel.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/vms} of a real daemon, for what needs no boot: bad requests refused naming the field, with
 * nothing left in the state dir. (A VM's whole life, booted, is {@code MachineLifecycleTest}'s.)
 */
class MachinesApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CGROUP_PARENT = "vessel-vms-test-" + UUID.randomUUID().toString().substring(0, 8);

    @TempDir
    static Path tmp;
    static DaemonProcess daemon;
    static ApiClient api;

    @BeforeAll
    static void startDaemon() throws Exception {
        DaemonProcess.requireRoot();
        daemon = DaemonProcess.start(tmp.resolve("node"), CGROUP_PARENT);
        api = ApiClient.unix(daemon.socket);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        try {
            if (daemon != null) {
                daemon.stop();
            }
        } finally {
            DaemonProcess.removeCgroupParent(CGROUP_PARENT);
        }
    }

    @Test
    void badRequestsAreRefusedNamingTheFieldAndLeaveNothing() throws Exception {
        assertRefused(api.post("/v1/vms", "{\"name\":\"bad name\",\"image\":\"/x.qcow2\"}"), 400, "name");
        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"imag\":\"/x.qcow2\"}"), 400, "imag");
        Path notAnImage = Files.writeString(tmp.resolve("notes.qcow2"), "not an image");
        ApiClient.Response bad = api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"" + notAnImage + "\"}");
        assertEquals(400, bad.status(), bad.body());
        assertTrue(bad.body().contains("vm.machine.base_image"), bad.body());
        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"relative.qcow2\"}"), 400, "vm.machine.base_image");
        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"/x.qcow2\",\"image_format\":\"vmdk\"}"), 400,
                "vm.machine.base_format");

        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"ftp://127.0.0.1/x.qcow2\"}"), 400, "image");
        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"http://127.0.0.1:9/x.qcow2\","
                + "\"image_digest\":\"md5:abc\"}"), 400, "image_digest");
        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"/x.qcow2\",\"image_digest\":\"sha256:"
                + "0".repeat(64) + "\"}"), 400, "image_digest");
        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"http://127.0.0.1:9/x.qcow2\"}"), 503, "image");

        assertFalse(Files.exists(daemon.stateDir().resolve("machines/web")), "a refused VM left its directory");
        assertEquals("{\"vms\":[]}", api.get("/v1/vms").body());
        assertRefused(api.get("/v1/vms/web"), 404, null);
        assertRefused(api.post("/v1/vms/web/start", ""), 404, null);
        assertRefused(api.delete("/v1/vms/web"), 404, null);
        assertRefused(api.post("/v1/vms/web/reboot", ""), 404, null);
        assertRefused(api.get("/v1/vms/web/logs?follow=1"), 404, null);
        assertRefused(api.post("/v1/vms/web/console", ""), 400, "Upgrade");
        assertEquals("[]", JSON.readTree(api.get("/v1/containers").body()).get("containers").toString(),
                "a refused VM left a container");
    }

    private static void assertRefused(ApiClient.Response r, int status, String field) throws Exception {
        assertEquals(status, r.status(), r.body());
        if (field != null) {
            JsonNode error = JSON.readTree(r.body());
            assertEquals(field, error.path("field").asText(), r.body());
        }
    }
}
