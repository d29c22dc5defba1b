package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.node.cli.CliNode.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fetched artifacts reach the task (Mesos's fetcher promise), through {@code vessel run --fetch} and a real daemon:
 * the task reads a fetched file and runs a script from a fetched, extracted archive, in its sandbox at
 * /vessel/sandbox, which {@code VESSEL_SANDBOX} and {@code MESOS_SANDBOX} name and which is its working directory;
 * {@code inspect} shows what was fetched and whether the cache had it.
 */
class FetchCliTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static CliNode node;
    static Path rootfs;
    static Path artifacts;

    @BeforeAll
    static void start() throws Exception {
        artifacts = Files.createDirectories(tmp.resolve("artifacts"));
        Files.writeString(artifacts.resolve("hello.txt"), "hello from the host\n");
        // an archive made here: tool/run.sh, executable, which says where it ran
        Path tool = Files.createDirectories(tmp.resolve("archive/tool"));
        Files.writeString(tool.resolve("run.sh"), "#!/bin/sh\necho \"the tool ran in $(pwd)\"\n");
        Files.setPosixFilePermissions(tool.resolve("run.sh"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Process tar = new ProcessBuilder("tar", "-czf", artifacts.resolve("tool.tar.gz").toString(), "-C",
                tmp.resolve("archive").toString(), "tool").redirectErrorStream(true).start();
        String tarOut = new String(tar.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, tar.waitFor(), tarOut);
        node = CliNode.start(tmp, "fetch", "--fetcher-file-root", artifacts.toString());
        rootfs = node.rootfs();
    }

    @AfterAll
    static void stop() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    static Result vessel(String... args) {
        return node.vessel(args);
    }

    static Result runFetching(String name) {
        return vessel("run", "--name", name, "--rootfs", rootfs.toString(),
                "--fetch", artifacts.resolve("hello.txt").toUri().toString(),
                "--fetch", artifacts.resolve("tool.tar.gz") + ",extract",
                "--", "sh", "-c", "pwd; cat hello.txt; ./tool/run.sh; echo \"$VESSEL_SANDBOX $MESOS_SANDBOX\";"
                        + " echo made by the task > \"$VESSEL_SANDBOX/out.txt\"");
    }

    static JsonNode fetched(String id) throws Exception {
        Result r = vessel("inspect", "--json", id);
        assertEquals(0, r.code(), r::toString);
        return JSON.readTree(r.out()).at("/status/fetched");
    }

    @Test
    void aTaskReadsAFetchedFileAndRunsAFetchedExtractedScript() throws Exception {
        Result first = runFetching("fetch-1");
        assertEquals(0, first.code(), first::toString);
        assertEquals("/vessel/sandbox\nhello from the host\nthe tool ran in /vessel/sandbox\n"
                + "/vessel/sandbox /vessel/sandbox\n", first.out(), first::toString);
        // the sandbox is the container's, read-write: what the task wrote is there on the host
        Path sandbox = node.daemon().runDir().resolve("containers/fetch-1/sandbox");
        assertEquals("made by the task\n", Files.readString(sandbox.resolve("out.txt")));
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(sandbox)));

        JsonNode fetched = fetched("fetch-1");
        assertEquals(2, fetched.size(), fetched::toString);
        assertEquals(artifacts.resolve("hello.txt").toUri().toString(), fetched.get(0).get("uri").asText());
        assertEquals("/vessel/sandbox/hello.txt", fetched.get(0).get("path").asText());
        assertTrue(fetched.get(0).get("digest").asText().startsWith("sha256:"), fetched::toString);
        assertEquals(20, fetched.get(0).get("size_bytes").asLong(), fetched::toString);
        assertEquals("/vessel/sandbox", fetched.get(1).get("path").asText(), "extracted into the sandbox");
        for (JsonNode f : fetched) {
            assertFalse(f.path("from_cache").asBoolean(false), "downloaded the first time: " + fetched);
        }

        Result second = runFetching("fetch-2");
        assertEquals(first.out(), second.out(), second::toString);
        for (JsonNode f : fetched("fetch-2")) {
            assertTrue(f.path("from_cache").asBoolean(false), "unchanged: the cached copy " + f);
        }
    }

    @Test
    void theUsersOwnVariableWins() {
        Result r = vessel("run", "--rm", "--rootfs", rootfs.toString(), "-e", "VESSEL_SANDBOX=mine",
                "--fetch", artifacts.resolve("hello.txt").toString(), "--", "sh", "-c",
                "echo \"$VESSEL_SANDBOX $MESOS_SANDBOX\"; cat /vessel/sandbox/hello.txt");
        assertEquals(0, r.code(), r::toString);
        assertEquals("mine /vessel/sandbox\nhello from the host\n", r.out());
    }

    @Test
    void badFetchSpecsAreRefusedNamingTheFlag() {
        Result unknown = vessel("run", "--rm", "--rootfs", rootfs.toString(), "--fetch", "http://x/y,unzip", "--", "true");
        assertEquals(125, unknown.code(), unknown::toString);
        assertTrue(unknown.err().contains("--fetch") && unknown.err().contains("unknown option 'unzip'"), unknown::toString);
        Result digest = vessel("run", "--rm", "--rootfs", rootfs.toString(), "--fetch", "http://x/y,sha256=abc", "--", "true");
        assertTrue(digest.err().contains("sha256 must be 64 lower-case hex digits"), digest::toString);
    }
}
