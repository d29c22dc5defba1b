package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.node.cli.CliNode.Result;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Containers' names besides their ids: {@code vessel rename}, and every command taking the current name. */
class RenameCliTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static CliNode node;

    @BeforeAll
    static void startDaemon() throws Exception {
        node = CliNode.start(tmp, "names");
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    static Result vessel(String... args) {
        return node.vessel(args);
    }

    static Result ok(String... args) {
        Result r = vessel(args);
        assertEquals(0, r.code(), () -> String.join(" ", args) + " -> " + r);
        return r;
    }

    static JsonNode inspect(String reference) throws Exception {
        return JSON.readTree(ok("inspect", "--json", reference).out());
    }

    static void runSleeping(String... nameFlags) {
        List<String> args = new java.util.ArrayList<>(List.of("run", "-d"));
        args.addAll(List.of(nameFlags));
        args.addAll(List.of("--rootfs", node.rootfs().toString(), "sleep", "300"));
        ok(args.toArray(String[]::new));
    }

    /** The ps row whose NAMES column is {@code name}, or null. */
    static String psRow(String name) {
        return ok("ps", "-a").out().lines().filter(l -> l.endsWith(" " + name)).findFirst().orElse(null);
    }

    @Test
    void aRenamedContainerAnswersToItsNewNameOnly() throws Exception {
        runSleeping("--name", "first");
        assertEquals("first", inspect("first").path("name").asText());
        assertTrue(psRow("first").startsWith("first "), () -> vessel("ps").out());

        Result rename = ok("rename", "first", "second");
        assertEquals("", rename.out());
        JsonNode renamed = inspect("second");
        assertEquals("second", renamed.path("name").asText());
        assertEquals("first", renamed.at("/status/id").asText()); // the id and what is kept under it stay
        assertEquals("RUNNING", renamed.at("/status/state").asText());
        Result old = vessel("inspect", "first");
        assertEquals(125, old.code(), old::toString);
        assertTrue(old.err().contains("no container 'first'"), old::toString);
        assertTrue(psRow("second").startsWith("first "), () -> vessel("ps").out());
        assertEquals(null, psRow("first"));
        assertTrue(ok("ps", "-q").out().lines().toList().contains("second"), "ps -q gives what names it now");
        JsonNode listed = JSON.readTree(ok("ps", "--json").out()).get("containers");
        assertTrue(listed.toString().contains("\"name\":\"second\""), listed::toString);

        JsonNode stats = JSON.readTree(ok("stats", "--no-stream", "--format", "json", "second").out()).get(0);
        assertEquals("first", stats.path("id").asText(), stats::toString);
        assertEquals("second", stats.path("name").asText(), stats::toString);
        assertEquals("hi\n", ok("exec", "second", "echo", "hi").out());
        assertEquals(125, vessel("exec", "first", "true").code());
        ok("stop", "-t", "0", "second");
        assertEquals("TERMINATED", inspect("second").at("/status/state").asText());
        ok("rename", "second", "third"); // an ended container too
        ok("wait", "third");
        ok("rm", "third");
        assertEquals(125, vessel("inspect", "third").code());

        // the id is free again, and a new container under it is named as it asks, not as the removed one was
        runSleeping("--name", "first");
        assertEquals("first", inspect("first").path("name").asText());
        ok("rm", "-f", "first");
    }

    @Test
    void aGeneratedIdKeepsNamingItsContainer() throws Exception {
        String since = java.time.Instant.now().toString();
        String id = ok("run", "-d", "--rootfs", node.rootfs().toString(), "sleep", "300").out().strip();
        assertEquals(id, inspect(id).path("name").asText()); // named as its id until renamed
        ok("rename", id, "generated-renamed");
        assertEquals("generated-renamed", inspect(id).path("name").asText());
        assertEquals(id, inspect("generated-renamed").at("/status/id").asText());
        Result started = ok("events", "--since", since, "--until", "0s", "--filter", "container=generated-renamed",
                "--filter", "event=start");
        assertTrue(started.out().strip().endsWith("container start " + id + " (image=" + node.rootfs()
                + ", name=generated-renamed, isolation=process)"), started::toString); // its name as it is now
        ok("kill", "generated-renamed");
        ok("rm", "-f", id);
    }

    @Test
    void aTakenOrBadNameIsRefusedAndChangesNothing() throws Exception {
        runSleeping("--name", "taken-a");
        runSleeping("--name", "taken-b");
        ok("rename", "taken-b", "taken-c"); // taken-b stays taken-b's id

        Result onName = vessel("rename", "taken-a", "taken-c");
        assertEquals(125, onName.code(), onName::toString);
        assertTrue(onName.err().startsWith("vessel: name: the name 'taken-c' is taken by container 'taken-b'"),
                onName::toString);
        Result onId = vessel("rename", "taken-a", "taken-b");
        assertEquals(125, onId.code(), onId::toString);
        assertTrue(onId.err().startsWith("vessel: name: 'taken-b' is another container's id"), onId::toString);
        Result bad = vessel("rename", "taken-a", "no/slash");
        assertEquals(125, bad.code(), bad::toString);
        assertTrue(bad.err().startsWith("vessel: name: 'no/slash' must be"), bad::toString);
        Result missing = vessel("rename", "nobody-here", "anything");
        assertEquals(125, missing.code(), missing::toString);
        assertTrue(missing.err().contains("no container 'nobody-here'"), missing::toString);
        assertEquals("taken-a", inspect("taken-a").path("name").asText());
        assertEquals("taken-c", inspect("taken-c").path("name").asText());

        int before = JSON.readTree(ok("ps", "-a", "--json").out()).get("containers").size();
        Result run = vessel("run", "-d", "--name", "taken-c", "--rootfs", node.rootfs().toString(), "true");
        assertEquals(125, run.code(), run::toString);
        assertTrue(run.err().contains("the name 'taken-c' is taken by container 'taken-b'"), run::toString);
        assertEquals(before, JSON.readTree(ok("ps", "-a", "--json").out()).get("containers").size());
        assertEquals(125, vessel("inspect", "taken-b").code()); // an id given as a name was renamed away
        assertEquals("taken-b", inspect("taken-c").at("/status/id").asText());

        ok("rename", "taken-c", "taken-b"); // back to its own id
        assertEquals("taken-b", inspect("taken-b").path("name").asText());
        ok("rm", "-f", "taken-a", "taken-b");
    }

    @Test
    void aRenameSurvivesTheDaemonsCrash() throws Exception {
        runSleeping("--name", "before-crash");
        ok("rename", "before-crash", "after-crash");
        node.kill9AndRestart();
        JsonNode renamed = inspect("after-crash");
        assertEquals("after-crash", renamed.path("name").asText());
        assertEquals("RUNNING", renamed.at("/status/state").asText());
        assertEquals(125, vessel("inspect", "before-crash").code());
        assertTrue(psRow("after-crash").startsWith("before-crash "), () -> vessel("ps").out());
        ok("rm", "-f", "after-crash");
    }
}
