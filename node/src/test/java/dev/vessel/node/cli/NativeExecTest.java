package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.node.ApiClient;
import dev.vessel.node.DaemonProcess;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native {@code vessel exec} client (node/src/main/c/vessel-exec.c, built into node/target) against a
 * real daemon, run by bin/vessel as a user runs it: output on the right streams, the command's exit code,
 * arguments that need quoting in JSON arriving intact, refusals worded and coded as the Java CLI's.
 */
class NativeExecTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String CGROUP_PARENT = "vessel-node-test-" + UUID.randomUUID().toString().substring(0, 8);

    @TempDir
    static Path tmp;
    static DaemonProcess daemon;
    static ApiClient api;

    @BeforeAll
    static void startDaemon() throws Exception {
        DaemonProcess.requireRoot();
        Path client = Path.of("target/vessel-exec");
        if (!Files.isExecutable(client)) {
            throw new IllegalStateException(client.toAbsolutePath() + " is not built (mvn package builds it)");
        }
        Path rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        daemon = DaemonProcess.start(tmp.resolve("node"), CGROUP_PARENT);
        api = ApiClient.unix(daemon.socket);
        ObjectNode config = JSON.createObjectNode().put("id", "target").put("host_rootfs", rootfs.toString());
        config.putArray("command").add("/bin/sh").add("-c").add("echo in-the-task > /tmp/mark; exec sleep 600");
        assertEquals(201, api.post("/v1/containers", config.toString()).status());
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
        }
    }

    record Result(int code, String out, String err) {
    }

    /** bin/vessel, with this daemon as its host. */
    static Result vessel(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of("../bin/vessel").toAbsolutePath().normalize().toString(),
                "--host", "unix://" + daemon.socket));
        command.addAll(List.of(args));
        Path out = Files.createTempFile(tmp, "out", ".txt");
        Path err = Files.createTempFile(tmp, "err", ".txt");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), String.join(" ", command) + " did not end");
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void outputStreamsExitCodeAndArgumentsComeThrough() throws Exception {
        String quoted = "a \"quoted\" \\ back\tslash é";
        Result r = vessel("exec", "target", "/bin/sh", "-c", "cat /tmp/mark; printf '%s\\n' \"$0\" >&2; exit 3", quoted);
        assertEquals(3, r.code(), r.err());
        assertEquals("in-the-task\n", r.out());
        assertEquals(quoted + "\n", r.err());
    }

    @Test
    void refusalsAreWordedAndCodedAsTheJavaClis() throws Exception {
        Result missing = vessel("exec", "nosuch", "true");
        assertEquals(125, missing.code());
        assertTrue(missing.err().startsWith("vessel: ") && missing.err().contains("nosuch"), missing.err());
        Result notFound = vessel("exec", "target", "/no/such/program");
        assertEquals(125, notFound.code(), notFound.err());
        assertTrue(notFound.err().contains("/no/such/program"), notFound.err());
    }

    /** bin/vessel hands it no option: given one, the native client refuses it rather than run something else. */
    @Test
    void theNativeClientRefusesWhatItDoesNotHandle() throws Exception {
        Process p = new ProcessBuilder(Path.of("target/vessel-exec").toAbsolutePath().toString(), "--host",
                "unix://" + daemon.socket, "exec", "-e", "X=1", "target", "true").redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(125, p.exitValue(), output);
        assertTrue(output.contains("-e"), output);
    }
}
