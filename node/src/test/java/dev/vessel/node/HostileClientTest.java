package dev.vessel.node;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A client out to hurt the daemon: huge numbers, huge strings, deep nesting, oversized bodies, half
 * requests and too many connections. Each is refused with a small answer and creates nothing.
 */
class HostileClientTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CGROUP_PARENT = "vessel-node-test-" + UUID.randomUUID().toString().substring(0, 8);
    static final int MAX_BODY = 2 << 20;
    static final int REQUEST_TIMEOUT_SECONDS = 5;
    static final int MAX_CONNECTIONS = 4;
    /** Generous: a refusal must come, but how fast is not what these tests check. */
    static final long ANSWER_WITHIN_SECONDS = 60;

    @TempDir
    static Path tmp;
    static DaemonProcess daemon;
    static ApiClient api;

    @BeforeAll
    static void startDaemon() throws Exception {
        DaemonProcess.requireRoot();
        // found with loose modes: the daemon must tighten them
        Files.createDirectories(tmp.resolve("node/state"), PosixFilePermissions.asFileAttribute(
                PosixFilePermissions.fromString("rwxrwxrwx")));
        Files.createDirectories(tmp.resolve("node/run"));
        Files.setPosixFilePermissions(tmp.resolve("node/state"), PosixFilePermissions.fromString("rwxrwxrwx"));
        Files.setPosixFilePermissions(tmp.resolve("node/run"), PosixFilePermissions.fromString("rwxrwxrwx"));
        daemon = DaemonProcess.start(tmp.resolve("node"), CGROUP_PARENT, "--max-body-bytes", Integer.toString(MAX_BODY),
                "--api-request-timeout-seconds", Integer.toString(REQUEST_TIMEOUT_SECONDS),
                "--api-max-connections", Integer.toString(MAX_CONNECTIONS));
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

    @AfterEach
    void nothingWasCreated() throws Exception {
        JsonNode containers = JSON.readTree(api.get("/v1/containers").body()).get("containers");
        assertEquals(0, containers.size(), containers::toString);
    }

    @Test
    void aHugeExponentIsRefusedNamingTheFieldWithASmallAnswer() throws Exception {
        for (String value : new String[] {"\"1e64000000\"", "1e64000000", "\"1e6400000\""}) {
            ApiClient.Response r = answered(() -> api.post("/v1/containers",
                    "{\"host_rootfs\":\"/\",\"resources\":{\"memory_bytes\":" + value + "}}"));
            assertEquals(400, r.status(), r.body());
            assertEquals("resources.memory_bytes", JSON.readTree(r.body()).get("field").asText(), r.body());
            assertTrue(r.body().length() < 4096, "an answer of " + r.body().length() + " bytes");
        }
    }

    @Test
    void aOneMegabyteStringInAFieldIsQuotedCutShort() throws Exception {
        String huge = "a".repeat(1 << 20);
        for (String body : new String[] {"{\"image\":\"" + huge + "\"}",
                "{\"host_rootfs\":\"/\",\"hostname\":\"" + huge + "\"}",
                "{\"host_rootfs\":\"/\",\"env\":[{\"name\":\"=" + huge + "\"}]}",
                "{\"host_rootfs\":\"" + huge + "\"}",
                "{\"" + huge + "\":1}"}) {
            ApiClient.Response r = answered(() -> api.post("/v1/containers", body));
            assertEquals(400, r.status(), r.body().substring(0, Math.min(200, r.body().length())));
            assertTrue(r.body().length() < 4096, "an answer of " + r.body().length() + " bytes");
        }
    }

    @Test
    void manyBadEntriesMakeASmallAnswer() throws Exception {
        StringBuilder env = new StringBuilder("{\"host_rootfs\":\"/\",\"env\":[");
        for (int i = 0; i < 20_000; i++) {
            env.append(i == 0 ? "" : ",").append("{\"name\":\"=").append(i).append("\"}");
        }
        ApiClient.Response r = answered(() -> api.post("/v1/containers", env + "]}"));
        assertEquals(400, r.status());
        JsonNode answer = JSON.readTree(r.body());
        assertTrue(answer.get("violations_omitted").asInt() > 19_000, r.body());
        assertTrue(r.body().length() < 8192, "an answer of " + r.body().length() + " bytes");
    }

    @Test
    void deepNestingIsRefused() throws Exception {
        ApiClient.Response r = answered(() -> api.post("/v1/containers",
                "{\"resources\":" + "[".repeat(500_000) + "]".repeat(500_000) + "}"));
        assertEquals(400, r.status(), r.body());
        assertEquals("body", JSON.readTree(r.body()).get("field").asText());
        assertTrue(r.body().length() < 4096, "an answer of " + r.body().length() + " bytes");
    }

    @Test
    void anOversizedBodyIsRefusedWith413BeforeItIsSent() throws Exception {
        try (SocketChannel channel = connect()) {
            // announces 100 MB and sends 1 KB: the answer must come without the rest
            write(channel, "POST /v1/containers HTTP/1.1\r\nHost: vessel\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + (100 << 20) + "\r\n\r\n{\"id\":\"" + "x".repeat(1024));
            String answer = answered(() -> readAll(channel));
            assertTrue(answer.startsWith("HTTP/1.1 413 "), answer);
            assertTrue(answer.contains("larger than " + MAX_BODY + " bytes"), answer);
        }
    }

    @Test
    void aHalfRequestIsClosedAfterTheTimeout() throws Exception {
        try (SocketChannel channel = connect()) {
            write(channel, "POST /v1/containers HTTP/1.1\r\nHost: vessel\r\nContent-Length: 100\r\n\r\n{\"id\":");
            assertEquals("", answered(() -> readAll(channel)), "closed without an answer");
        }
        assertEquals(200, api.get("/v1/health").status(), "the daemon still serves");
    }

    @Test
    void connectionsPastTheCapAreRefusedAtOnce() throws Exception {
        List<SocketChannel> held = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_CONNECTIONS; i++) {
                held.add(connect());
            }
            try (SocketChannel extra = connect()) {
                String answer = answered(() -> readAll(extra));
                assertTrue(answer.startsWith("HTTP/1.1 503 "), answer);
                assertTrue(answer.contains("API connections open"), answer);
            }
        } finally {
            for (SocketChannel c : held) {
                c.close();
            }
        }
        // the closed ones free their places (the daemon sees the closes a moment later)
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ANSWER_WITHIN_SECONDS);
        while (true) {
            try {
                if (api.get("/v1/health").status() == 200) {
                    break;
                }
            } catch (IOException e) {
                // refused still: retry
            }
            assertTrue(System.nanoTime() < deadline, "the cap never freed");
            Thread.sleep(100);
        }
    }

    @Test
    void theStateIsPrivateAndTheSocketIsRootAndGroupOnly() throws Exception {
        assertEquals("rwx------", mode(daemon.stateDir));
        assertEquals("rwx--x--x", mode(daemon.runDir));
        assertEquals("rw-rw----", mode(daemon.socket));
        assertEquals("rw-------", mode(daemon.runDir.resolve("boot_id")), "records are owner-only");
        try (var entries = Files.list(daemon.socket.getParent())) {
            assertTrue(entries.noneMatch(p -> p.getFileName().toString().matches("\\.[0-9]+")),
                    "the bind directory is gone");
        }
    }

    private static String mode(Path path) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(path));
    }

    private static SocketChannel connect() throws IOException {
        SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
        channel.connect(UnixDomainSocketAddress.of(daemon.socket));
        return channel;
    }

    private static void write(SocketChannel channel, String text) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** Everything until the daemon closes the connection. */
    private static String readAll(SocketChannel channel) throws IOException {
        InputStream in = Channels.newInputStream(channel);
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    interface Call<T> {
        T call() throws Exception;
    }

    /** The call's result; fails, instead of hanging, if the daemon never answers. */
    private static <T> T answered(Call<T> call) throws Exception {
        ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
        try {
            Future<T> result = executor.submit(call::call);
            return result.get(ANSWER_WITHIN_SECONDS, TimeUnit.SECONDS);
        } finally {
            executor.shutdownNow();
        }
    }
}
