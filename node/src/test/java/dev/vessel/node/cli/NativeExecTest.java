package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.node.ApiClient;
import dev.vessel.node.cli.CliNode.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

    @TempDir
    static Path tmp;
    static CliNode node;
    static ApiClient api;

    @BeforeAll
    static void startDaemon() throws Exception {
        Path client = Path.of("target/vessel-exec");
        if (!Files.isExecutable(client)) {
            throw new IllegalStateException(client.toAbsolutePath() + " is not built (mvn package builds it)");
        }
        node = CliNode.start(tmp, "node");
        Path rootfs = node.rootfs();
        api = ApiClient.unix(node.daemon().socket);
        ObjectNode config = JSON.createObjectNode().put("id", "target").put("host_rootfs", rootfs.toString());
        config.putArray("command").add("/bin/sh").add("-c").add("echo in-the-task > /tmp/mark; exec sleep 600");
        assertEquals(201, api.post("/v1/containers", config.toString()).status());
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    /** bin/vessel, with this daemon as its host. */
    static Result vessel(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of("../bin/vessel").toAbsolutePath().normalize().toString(),
                "--host", node.host()));
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
                node.host(), "exec", "-e", "X=1", "target", "true").redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(125, p.exitValue(), output);
        assertTrue(output.contains("-e"), output);
    }
}
