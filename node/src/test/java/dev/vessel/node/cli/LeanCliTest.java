package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.node.ApiClient;
import dev.vessel.node.cli.CliNode.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's lean path (LeanCli: {@code --version}, {@code run [--rm] IMAGE CMD} without picocli or Jackson),
 * run by bin/vessel as a user runs it, against a real daemon: the same output, streams, exit codes and
 * removal as the full CLI, and what it does not take handed to the full CLI.
 */
class LeanCliTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static CliNode node;
    static ApiClient api;
    static String image;

    @BeforeAll
    static void startDaemon() throws Exception {
        node = CliNode.start(tmp, "node");
        Path rootfs = node.rootfs();
        Path layout = tmp.resolve("layout");
        umoci("init", "--layout", layout.toString());
        umoci("new", "--image", layout + ":bb");
        umoci("insert", "--image", layout + ":bb", rootfs.toString(), "/");
        image = "oci:" + layout + ":bb";
        api = ApiClient.unix(node.daemon().socket);
        Result pull = vessel("pull", image);
        assertEquals(0, pull.code(), pull::toString);
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
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), String.join(" ", command) + " did not end");
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    static JsonNode containers() throws Exception {
        return JSON.readTree(api.get("/v1/containers").body()).get("containers");
    }

    @Test
    void versionIsTheFullClisAnswer() throws Exception {
        Result r = vessel("--version");
        assertEquals(new Result(0, "vessel (Vessel node runtime)\n", ""), r);
    }

    @Test
    void runRmStreamsBothOutputsExitsWithTheTasksCodeAndRemovesIt() throws Exception {
        int before = containers().size();
        Result r = vessel("run", "--rm", image, "sh", "-c", "echo out; echo \"$1\" >&2; exit 3", "sh", "an \"argument\" é");
        assertEquals(new Result(3, "out\n", "an \"argument\" é\n"), r);
        assertEquals(before, containers().size(), () -> "the container was not removed: " + r);
    }

    @Test
    void runWithoutRmKeepsTheEndedContainer() throws Exception {
        int before = containers().size();
        Result r = vessel("run", image, "sh", "-c", "exit 7");
        assertEquals(new Result(7, "", ""), r);
        JsonNode after = containers();
        assertEquals(before + 1, after.size(), after::toString);
    }

    @Test
    void whatItDoesNotTakeTheFullCliRuns() throws Exception {
        Result env = vessel("run", "--rm", "-e", "GREETING=hello", image, "sh", "-c", "echo $GREETING");
        assertEquals(new Result(0, "hello\n", ""), env);
        Result missing = vessel("run", "--rm", "oci:" + tmp.resolve("nosuch") + ":x", "true");
        assertEquals(125, missing.code(), missing::toString);
        assertTrue(missing.err().startsWith("Unable to find image"), missing::toString);
        Result refused = vessel("run", "--rm");
        assertEquals(125, refused.code(), refused::toString);
        assertTrue(refused.err().contains("IMAGE: missing"), refused::toString);
    }

    private static void umoci(String... args) throws Exception {
        Process p = new ProcessBuilder(Stream.concat(Stream.of("umoci"), Stream.of(args)).toList())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "umoci " + String.join(" ", args) + " (apt-get install umoci):\n" + out);
    }
}
