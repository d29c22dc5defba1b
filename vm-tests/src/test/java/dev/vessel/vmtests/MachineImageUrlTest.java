package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A VM's base image given by URL, through the real daemon and CLI: fetched once from an HTTP server on
 * loopback into the node's content-addressed store (a second VM with the same digest downloads
 * nothing), a wrong digest or a URL serving no image refused naming the field with nothing made, and
 * the fetched image kept by the store's garbage collection while a VM needs it — even once its URL
 * serves something else — and collected after the last such VM is gone.
 */
class MachineImageUrlTest {
    private final Map<String, Path> served = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> downloads = new ConcurrentHashMap<>();
    private MachineDaemon node;
    private HttpServer server;

    @BeforeEach
    void setUp() throws Exception {
        node = MachineDaemon.start("vmurl");
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::serve);
        server.start();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (server != null) {
            server.stop(0);
        }
        if (node != null) {
            node.close();
        }
    }

    @Test
    void anImageByUrlIsFetchedOnceCheckedAndKeptWhileAVmBootsFromIt() throws Exception {
        Path cloud = VmNode.cloudImage().disk();
        String digest = "sha256:" + VmNode.sha256(cloud);
        Path blank = node.dir.resolve("blank.qcow2");
        VmNode.run("qemu-img", "create", "-q", "-f", "qcow2", blank.toString(), "64M");
        served.put("/debian.qcow2", cloud);
        served.put("/notes.txt", Files.writeString(node.dir.resolve("notes.txt"), "not a disk image\n"));
        Path blobs = node.stateDir().resolve("blobs");

        VmNode.Cli wrong = node.cli("vm", "create", "wrong", "--image", url("/debian.qcow2"), "--image-digest",
                "sha256:" + "0".repeat(64));
        assertNotEquals(0, wrong.code());
        assertTrue(wrong.err().contains("image_digest"), wrong::toString);
        VmNode.Cli text = node.cli("vm", "create", "text", "--image", url("/notes.txt"));
        assertNotEquals(0, text.code());
        assertTrue(text.err().contains("base_image"), text::toString);
        VmNode.Cli ftp = node.cli("vm", "create", "ftp", "--image", "ftp://127.0.0.1/debian.qcow2");
        assertNotEquals(0, ftp.code());
        assertTrue(ftp.err().contains("image: ") && ftp.err().contains("http(s) URL"), ftp::toString);
        assertFalse(Files.exists(node.stateDir().resolve("machines/wrong")), "a refused VM left its directory");
        assertFalse(Files.exists(node.stateDir().resolve("machines/text")), "a refused VM left its directory");

        int before = count("/debian.qcow2");
        assertEquals(0, node.cli("vm", "create", "a", "--image", url("/debian.qcow2"), "--image-digest", digest).code());
        assertEquals(before + 1, count("/debian.qcow2"), "the image was not downloaded once");
        JsonNode a = node.vm("a");
        assertEquals("running", a.path("state").asText(), a::toString);
        assertEquals(digest, a.path("request").path("image_digest").asText());
        Path base = blobs.resolve("sha256").resolve(digest.substring("sha256:".length()));
        assertTrue(Files.isRegularFile(base), "the image is not in the store at " + base);
        assertEquals(0, node.cli("vm", "create", "b", "--image", url("/debian.qcow2"), "--image-digest", digest).code());
        assertEquals(before + 1, count("/debian.qcow2"), "a second VM of the same digest downloaded it again");
        assertEquals(0, node.cli("vm", "stop", "--force", "a", "b").code());

        // the URL now serves another image: a VM made from it without a digest records that one's
        served.put("/debian.qcow2", blank);
        assertEquals(0, node.cli("vm", "create", "c", "--image", url("/debian.qcow2")).code());
        assertEquals("sha256:" + VmNode.sha256(blank), node.vm("c").path("request").path("image_digest").asText());
        assertEquals(0, node.cli("vm", "rm", "-f", "c").code());

        // nothing but the VMs a and b holds the first image now: garbage collection keeps it for them
        assertEquals(0, node.cli("gc").code());
        assertTrue(Files.isRegularFile(base), "garbage collection took the base image of stopped VMs");
        assertEquals(0, node.cli("vm", "start", "a").code(), "a VM whose base was fetched boots again");
        assertEquals(0, node.cli("vm", "rm", "-f", "a", "b").code());
        assertEquals(0, node.cli("gc").code());
        assertFalse(Files.exists(base), "the base image outlived its last VM through garbage collection");
    }

    private void serve(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            Path file = served.get(path);
            if (file == null) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            downloads.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
            exchange.sendResponseHeaders(200, Files.size(file));
            try (OutputStream out = exchange.getResponseBody()) {
                Files.copy(file, out);
            }
        }
    }

    private int count(String path) {
        return downloads.computeIfAbsent(path, p -> new AtomicInteger()).get();
    }

    private String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }
}
