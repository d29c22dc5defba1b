package dev.vessel.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.linux.PosixAcls;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code /v1/vms} of a real daemon, for what needs no guest to boot: bad requests refused naming the field,
 * with nothing left in the state dir; the routes of a VM's snapshots and images, on a VM whose QEMU runs its
 * firmware over a blank disk. (A VM's whole life, booted, is {@code MachineLifecycleTest}'s, and its
 * snapshots' data {@code MachineSnapshotTest}'s.)
 */
class MachinesApiTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CGROUP_PARENT = "vessel-vms-test-" + UUID.randomUUID().toString().substring(0, 8);
    /** libvirt's domain names are the host's: VMs of tests running beside this one have other names. */
    static final String VM = "api-snap-" + ProcessHandle.current().pid();

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

        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"/x.qcow2\",\"cpu_limit\":-0.5}"), 400,
                "cpu_limit");
        ApiClient.Response tooMany = api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"/x.qcow2\",\"cpu_limit\":"
                + (Runtime.getRuntime().availableProcessors() + 1) + "}");
        assertEquals(400, tooMany.status(), tooMany.body());
        assertTrue(tooMany.body().contains("cpu_limit") && tooMany.body().contains("exceeds this node's"),
                tooMany.body());
        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"ftp://127.0.0.1/x.qcow2\"}"), 400, "image");
        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"http://127.0.0.1:9/x.qcow2\","
                + "\"image_digest\":\"md5:abc\"}"), 400, "image_digest");
        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"/x.qcow2\",\"image_digest\":\"sha256:"
                + "0".repeat(64) + "\"}"), 400, "image_digest");
        assertRefused(api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"http://127.0.0.1:9/x.qcow2\"}"), 503, "image");

        ApiClient.Response gpus = api.post("/v1/vms", "{\"name\":\"web\",\"image\":\"/x.qcow2\",\"gpus\":1}");
        assertTrue(gpus.status() >= 400 && gpus.body().contains("resources.gpus"), gpus.body()); // this node has none

        assertFalse(Files.exists(daemon.stateDir().resolve("machines/web")), "a refused VM left its directory");
        assertEquals("{\"vms\":[]}", api.get("/v1/vms").body());
        assertRefused(api.get("/v1/vms/web"), 404, null);
        assertRefused(api.post("/v1/vms/web/start", ""), 404, null);
        assertRefused(api.delete("/v1/vms/web"), 404, null);
        assertRefused(api.post("/v1/vms/web/reboot", ""), 404, null);
        assertRefused(api.post("/v1/vms/web/update", "{\"cpu_shares\": 2048}"), 404, null);
        assertRefused(api.post("/v1/vms/web/update", "{\"vcpus\": 2}"), 400, "vcpus");
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

    @Test
    void aVmsSnapshotsAreTakenListedRestoredDeletedAndImagedThroughTheApi() throws Exception {
        if (!Files.exists(Path.of("/var/run/libvirt/libvirt-sock"))) {
            throw new IllegalStateException("libvirtd is not running (start virtlogd -d and libvirtd -d)");
        }
        QemuUser.ofHost().allow(tmp, PosixAcls.EXECUTE); // the operator's part: QEMU's user reaches the state dir
        Path base = tmp.resolve("blank.qcow2");
        run("qemu-img", "create", "-q", "-f", "qcow2", base.toString(), "64M");
        run("qemu-io", "-f", "qcow2", "-c", "write -P 0x11 0 64k", base.toString());
        String baseBefore = sha256(base);
        // the firmware finds nothing to boot and waits: QEMU runs, the disk is held, no guest needs minutes
        ApiClient.Response created = api.post("/v1/vms", "{\"name\":\"" + VM + "\",\"image\":\"" + base
                + "\",\"memory_bytes\":134217728}");
        assertEquals(201, created.status(), created.body());
        Path disk = Path.of(JSON.readTree(created.body()).path("disk").asText());
        try {
            for (String[] route : new String[][] {{"GET", "/v1/vms/nope/snapshots"}, {"POST", "/v1/vms/nope/snapshots"},
                    {"DELETE", "/v1/vms/nope/snapshots/a"}, {"POST", "/v1/vms/nope/snapshots/a/restore"},
                    {"POST", "/v1/vms/nope/image"}}) {
                String body = route[0].equals("POST") ? "{\"name\":\"a\"}" : null;
                if (route[1].endsWith("image")) {
                    body = "{\"path\":\"" + tmp.resolve("nope.qcow2") + "\"}";
                }
                assertRefused(api.send(route[0], route[1], body), 404, "vm");
            }

            // running: QEMU takes and deletes the snapshots
            ApiClient.Response live = api.post("/v1/vms/" + VM + "/snapshots", "{\"name\":\"live\"}");
            assertEquals(201, live.status(), live.body());
            assertEquals("live", JSON.readTree(live.body()).path("name").asText());
            assertEquals(0, JSON.readTree(live.body()).path("vm_state_bytes").asLong(), "the guest's memory was saved");
            assertRefused(api.post("/v1/vms/" + VM + "/snapshots", "{\"name\":\"live\"}"), 409, "name");
            assertRefused(api.post("/v1/vms/" + VM + "/snapshots", "{\"name\":\"1\"}"), 400, "name");
            assertRefused(api.post("/v1/vms/" + VM + "/snapshots", "{\"name\":\"bad name\"}"), 400, "name");
            assertRefused(api.post("/v1/vms/" + VM + "/snapshots", "{\"nme\":\"x\"}"), 400, "nme");
            assertEquals(201, api.post("/v1/vms/" + VM + "/snapshots", "{\"name\":\"scratch\"}").status());
            assertEquals(200, api.delete("/v1/vms/" + VM + "/snapshots/scratch").status());
            assertEquals(List.of("live"), snapshotNames(api.get("/v1/vms/" + VM + "/snapshots").body()));
            JsonNode inspected = JSON.readTree(api.get("/v1/vms/" + VM).body());
            assertEquals("running", inspected.path("state").asText());
            assertEquals("live", inspected.path("snapshots").path(0).path("name").asText(), inspected::toString);
            assertEquals(64L << 20, inspected.path("disk_size_bytes").asLong(), inspected::toString);
            assertTrue(inspected.path("snapshots").path(0).path("created").asText().endsWith("Z"), inspected::toString);
            ApiClient.Response runs = api.post("/v1/vms/" + VM + "/snapshots/live/restore", "");
            assertRefused(runs, 409, "vm");
            assertTrue(runs.body().contains("stop it first"), runs.body());

            // with its memory: saved into the disk, and put back into the same running QEMU
            long qemu = JSON.readTree(api.get("/v1/vms/" + VM).body()).path("boot").path("pid").asLong();
            ApiClient.Response held = api.post("/v1/vms/" + VM + "/snapshots", "{\"name\":\"held\",\"memory\":true}");
            assertEquals(201, held.status(), held.body());
            assertTrue(JSON.readTree(held.body()).path("vm_state_bytes").asLong() > 0, held.body());
            ApiClient.Response back = api.post("/v1/vms/" + VM + "/snapshots/held/restore", "");
            assertEquals(200, back.status(), back.body());
            JsonNode resumed = JSON.readTree(api.get("/v1/vms/" + VM).body());
            assertEquals("running", resumed.path("state").asText(), resumed::toString);
            assertEquals(qemu, resumed.path("boot").path("pid").asLong(), "the restore started another QEMU");
            assertEquals(200, api.delete("/v1/vms/" + VM + "/snapshots/held").status());
            assertRefused(api.post("/v1/vms/" + VM + "/snapshots", "{\"name\":\"m\",\"memory\":\"yes\"}"), 400,
                    "memory");

            // an image of the running VM, read from a snapshot of its own that is gone after
            Path image = tmp.resolve("snap.qcow2");
            ApiClient.Response imaged = api.post("/v1/vms/" + VM + "/image", "{\"path\":\"" + image + "\"}");
            assertEquals(201, imaged.status(), imaged.body());
            assertEquals("qcow2", JSON.readTree(imaged.body()).path("format").asText());
            JsonNode info = JSON.readTree(run("qemu-img", "info", "--output=json", "-f", "qcow2", image.toString()));
            assertFalse(info.has("backing-filename"), info::toString);
            run("qemu-io", "-f", "qcow2", "-c", "read -P 0x11 0 64k", image.toString());
            assertEquals(List.of("live"), snapshotNames(api.get("/v1/vms/" + VM + "/snapshots").body()));
            assertRefused(api.post("/v1/vms/" + VM + "/image", "{\"path\":\"" + image + "\"}"), 409, "path");
            assertRefused(api.post("/v1/vms/" + VM + "/image", "{\"path\":\"relative.qcow2\"}"), 400, "path");
            assertRefused(api.post("/v1/vms/" + VM + "/image", "{\"path\":\"" + tmp.resolve("no/such/dir.qcow2") + "\"}"),
                    400, "path");
            assertRefused(api.post("/v1/vms/" + VM + "/image", "{\"path\":\"" + daemon.stateDir().resolve("x.qcow2")
                    + "\"}"), 400, "path");
            assertRefused(api.post("/v1/vms/" + VM + "/image", "{\"path\":\"" + tmp.resolve("x.vmdk")
                    + "\",\"format\":\"vmdk\"}"), 400, "format");
            assertFalse(Files.exists(tmp.resolve("x.vmdk")));

            // stopped: qemu-img restores the snapshot QEMU took
            assertEquals(200, api.post("/v1/vms/" + VM + "/stop?force=1", "").status());
            assertRefused(api.post("/v1/vms/" + VM + "/snapshots", "{\"name\":\"m\",\"memory\":true}"), 409, "memory");
            // a stopped VM's update is checked as its next boot would be, and refused naming its own field
            ApiClient.Response overLimit = api.post("/v1/vms/" + VM + "/update", "{\"cpu_limit\":"
                    + (Runtime.getRuntime().availableProcessors() + 1) + "}");
            assertRefused(overLimit, 400, "cpu_limit");
            assertEquals(0.0, JSON.readTree(api.get("/v1/vms/" + VM).body()).path("cpu_limit").asDouble(),
                    "a refused update was recorded");
            run("qemu-io", "-f", "qcow2", "-c", "write -P 0xbb 0 64k", disk.toString());
            assertRefused(api.post("/v1/vms/" + VM + "/snapshots/nope/restore", ""), 404, "snapshot");
            assertRefused(api.delete("/v1/vms/" + VM + "/snapshots/nope"), 404, "snapshot");
            ApiClient.Response restored = api.post("/v1/vms/" + VM + "/snapshots/live/restore", "");
            assertEquals(200, restored.status(), restored.body());
            run("qemu-io", "-f", "qcow2", "-c", "read -P 0x11 0 64k", disk.toString());
            run("qemu-img", "compare", "-f", "qcow2", "-F", "qcow2", image.toString(), disk.toString());

            // what qemu-img wrote as root, QEMU's user still opens
            ApiClient.Response started = api.post("/v1/vms/" + VM + "/start", "");
            assertEquals(200, started.status(), started.body());
            assertEquals("running", JSON.readTree(started.body()).path("state").asText());
        } finally {
            assertEquals(200, api.delete("/v1/vms/" + VM + "?force=1").status());
        }
        assertFalse(Files.exists(disk), "the disk and its snapshots were left");
        assertEquals(baseBefore, sha256(base), "the base image was written");
    }

    private static List<String> snapshotNames(String json) throws Exception {
        List<String> names = new java.util.ArrayList<>();
        JSON.readTree(json).path("snapshots").forEach(s -> names.add(s.path("name").asText()));
        return names;
    }

    private static String run(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), String.join(" ", argv));
        assertEquals(0, p.exitValue(), String.join(" ", argv) + ": " + out);
        return out;
    }

    private static String sha256(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }
}
