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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * run -it, exec and attach as a person at a terminal uses them: the CLI runs in its own JVM on a
 * pseudo-terminal the test holds the master of (its controlling terminal), so typed keys, the window's
 * size and Ctrl-C go through a real terminal; exec without a terminal runs in-process. Also an exec across a
 * daemon's SIGKILL.
 */
public class TerminalCliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    /** busybox sh's prompt for root. */
    public static final String PROMPT = "# ";

    @TempDir
    static Path tmp;
    static CliNode node;
    static String image;

    @BeforeAll
    static void startDaemon() throws Exception {
        node = CliNode.start(tmp, "cli");
        Path rootfs = node.rootfs();
        Path layout = tmp.resolve("layout");
        umoci("init", "--layout", layout.toString());
        umoci("new", "--image", layout + ":sh");
        umoci("insert", "--image", layout + ":sh", rootfs.toString(), "/");
        image = "oci:" + layout + ":sh";
        Result pulled = vessel("", "pull", image);
        assertEquals(0, pulled.code(), pulled::toString);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    /** The CLI in-process, its stdin a stream (no terminal). */
    static Result vessel(String stdin, String... args) {
        return node.vesselWith(Map.of(), stdin, args);
    }

    /** The CLI as its own JVM, as bin/vessel runs it. */
    static List<String> cli(String... args) {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Vessel.class.getName(), "--host", node.host()));
        command.addAll(List.of(args));
        return command;
    }

    static JsonNode status(String id) throws Exception {
        Result r = vessel("", "inspect", "--json", id);
        assertEquals(0, r.code(), r::toString);
        return JSON.readTree(r.out()).get("status");
    }

    /**
     * A shell at the terminal: typed input is echoed and answered, a resize of the window reaches
     * {@code stty size}, Ctrl-C interrupts the command in the foreground, the shell's exit code is the CLI's,
     * and the terminal is given back exactly as it was.
     */
    public static void driveShell(Pty pty, Process cli) throws Throwable {
        pty.type("echo hello-$((6*7))\r");
        assertTrue(pty.expect("hello-42").contains("echo hello-$((6*7))"), pty::screen);
        pty.expect(PROMPT);
        pty.resize(33, 101);
        pty.type("stty size\r");
        pty.expect("33 101");
        pty.expect(PROMPT);
        // the shell's own output, not the echo of what was typed: a redraw after the resize may split that echo
        pty.type("echo sleeping-$((3*3)); sleep 1000\r");
        pty.expect("sleeping-9");
        // Ctrl-C, again until the prompt is back: a key that came before the sleep ran went to the shell
        for (int tries = 0; ; tries++) {
            assertTrue(tries < 60, "Ctrl-C never interrupted the sleep; the screen:\n" + pty.screen());
            pty.type("\u0003");
            if (pty.within(PROMPT, 500) != null) {
                break;
            }
        }
        pty.type("echo rc=$?\r");
        pty.expect("rc=130");
        pty.type("exit 3\r");
        assertEquals(3, pty.await(cli), pty::screen);
    }

    @Test
    void runItGivesATerminal() throws Throwable {
        try (Pty pty = Pty.open(30, 90)) {
            String before = pty.settings();
            Process cli = pty.spawn(cli("run", "-it", "--rm", "--name", "term", image, "sh"));
            pty.expect(PROMPT); // created, attached, then started: its first prompt is not missed
            pty.type("stty size\r");
            pty.expect("30 90"); // the window's size, sent before the start (a new terminal is 24x80)
            driveShell(pty, cli);
            assertEquals(before, pty.settings(), "the terminal was not given back as it was");
        }
        assertFalse(vessel("", "ps", "-a").out().contains("term"), "--rm left the container");
    }

    @Test
    void execItGivesATerminalInARunningContainer() throws Throwable {
        Result started = vessel("", "run", "-d", "--name", "execed", image, "sleep", "1000");
        assertEquals(0, started.code(), started::toString);
        try (Pty pty = Pty.open(24, 80)) {
            String before = pty.settings();
            Process cli = pty.spawn(cli("exec", "-it", "execed", "sh"));
            pty.expect(PROMPT); // attached before it ran: its first prompt is not missed
            driveShell(pty, cli);
            assertEquals(before, pty.settings(), "the terminal was not given back as it was");
        }
        JsonNode exec = status("execed").get("execs").get(0);
        assertEquals("EXEC_EXITED", exec.path("state").asText(), exec::toString);
        assertEquals(3, exec.path("exit_code").asInt(), exec::toString);
        assertEquals("true", exec.at("/config/tty").asText(), exec::toString);
        assertEquals(0, vessel("", "rm", "-f", "execed").code());
    }

    /**
     * attach joins the container's terminal; Ctrl-P Ctrl-Q (or the --detach-keys given) detaches, leaves it
     * running, and gives the terminal back.
     */
    @Test
    void attachJoinsTheTerminalAndCtrlPCtrlQDetaches() throws Throwable {
        Result started = vessel("", "run", "-dit", "--name", "attached", image, "sh");
        assertEquals(0, started.code(), started::toString);
        try (Pty pty = Pty.open(24, 80)) {
            String before = pty.settings();
            Process cli = pty.spawn(cli("attach", "attached"));
            pty.type("echo attached-$((1+1))\r");
            pty.expect("attached-2");
            pty.type("\u0010\u0011");
            assertEquals(0, pty.await(cli), pty::screen);
            assertEquals(before, pty.settings(), "the terminal was not given back as it was");
        }
        assertEquals("RUNNING", status("attached").path("state").asText());
        // keys of one's own: a lone 'a' is typed, Ctrl-X 'a' detaches; a key that is none is refused by name
        try (Pty pty = Pty.open(24, 80)) {
            Process cli = pty.spawn(cli("attach", "--detach-keys", "ctrl-x,a", "attached"));
            pty.type("echo a-$((1+2))\r");
            pty.expect("a-3");
            pty.type("\u0018a");
            assertEquals(0, pty.await(cli), pty::screen);
        }
        assertEquals("RUNNING", status("attached").path("state").asText());
        Result badKeys = vessel("", "attach", "--detach-keys", "ctrl-1", "attached");
        assertEquals(125, badKeys.code(), badKeys::toString);
        assertTrue(badKeys.err().startsWith("vessel: Invalid value for option '--detach-keys': ctrl-1 in 'ctrl-1' is"
                + " not a control key"), badKeys::toString);
        // and again: the shell is still there, with what the first sessions did
        try (Pty pty = Pty.open(24, 80)) {
            Process cli = pty.spawn(cli("attach", "attached"));
            pty.type("exit 4\r");
            assertEquals(4, pty.await(cli), pty::screen);
        }
        assertEquals(0, vessel("", "rm", "attached").code());
    }

    /** run -i pipes the CLI's stdin to the task; -t works without a local terminal (-it warns, as podman does). */
    @Test
    void runAttachedWithoutALocalTerminal() throws Exception {
        Result piped = vessel("one\ntwo\n", "run", "-i", "--rm", image, "sh", "-c", "cat; exit 5");
        assertEquals(new Result(5, "one\ntwo\n", ""), piped);
        Result tty = vessel("", "run", "-t", "--rm", image, "sh", "-c", "tty; exit 2");
        assertEquals(2, tty.code(), tty::toString);
        assertEquals("/dev/pts/0\r\n", tty.out(), "a terminal's output, its newlines made CRLF by the terminal");
        Result both = vessel("echo typed-$((3+3)); exit 6\n", "run", "-it", "--rm", image, "sh");
        assertEquals(6, both.code(), both::toString);
        assertTrue(both.out().contains("typed-6"), both::toString);
        assertTrue(both.err().contains("not a terminal"), both::toString);
    }

    /** The CLI killed (SIGTERM) while its terminal is raw still gives it back; the container runs on. */
    @Test
    void aKilledCliGivesTheTerminalBack() throws Throwable {
        Result started = vessel("", "run", "-dit", "--name", "killed", image, "sh");
        assertEquals(0, started.code(), started::toString);
        try (Pty pty = Pty.open(24, 80)) {
            String before = pty.settings();
            Process cli = pty.spawn(cli("attach", "killed"));
            pty.type("echo raw-$((2+2))\r");
            pty.expect("raw-4");
            assertTrue(!before.equals(pty.settings()), "the attached terminal is not raw");
            cli.destroy();
            pty.await(cli);
            assertEquals(before, pty.settings(), "the terminal was not given back as it was");
        }
        assertEquals("RUNNING", status("killed").path("state").asText());
        assertEquals(0, vessel("", "rm", "-f", "killed").code());
    }

    /** Without a terminal: output and exit code, -i, -e, -u, -w, -d, and errors naming the field. */
    @Test
    void execWithoutATerminal() throws Exception {
        Result started = vessel("", "run", "-d", "--name", "plain", image, "sleep", "1000");
        assertEquals(0, started.code(), started::toString);
        Result r = vessel("", "exec", "plain", "sh", "-c", "echo out; echo err >&2; exit 7");
        assertEquals(new Result(7, "out\n", "err\n"), r);
        assertEquals("B c\n", vessel("", "exec", "-e", "A=B c", "plain", "sh", "-c", "echo $A").out());
        assertEquals("1000:1001\n", vessel("", "exec", "-u", "1000:1001", "plain", "sh", "-c", "echo $(id -u):$(id -g)").out());
        assertEquals("/tmp\n", vessel("", "exec", "-w", "/tmp", "plain", "pwd").out());
        assertEquals("piped\n", vessel("piped\n", "exec", "-i", "plain", "cat").out());
        assertEquals("", vessel("ignored\n", "exec", "plain", "cat").out(), "without -i stdin is not the CLI's");

        Result relative = vessel("", "exec", "-w", "tmp", "plain", "pwd");
        assertEquals(125, relative.code(), relative::toString);
        assertTrue(relative.err().contains("working_dir"), relative::toString);
        Result missing = vessel("", "exec", "nosuch", "true");
        assertEquals(125, missing.code(), missing::toString);
        assertTrue(missing.err().contains("nosuch"), missing::toString);
        Result notFound = vessel("", "exec", "plain", "/no/such/program");
        assertTrue(notFound.code() != 0, notFound::toString);

        Result detached = vessel("", "exec", "-d", "plain", "sleep", "1000");
        assertEquals(new Result(0, "", ""), detached);
        JsonNode execs = status("plain").get("execs");
        assertTrue(execs.size() >= 7, execs::toString);
        assertEquals("EXEC_RUNNING", execs.get(execs.size() - 1).path("state").asText(), execs::toString);
        assertEquals(0, vessel("", "rm", "-f", "plain").code());
    }

    /**
     * A daemon SIGKILLed while an exec runs: its successor finds the exec again (its pid), records its end
     * when it comes, and removing the container removes everything of it.
     */
    @Test
    void anExecOutlivesTheDaemonAndItsEndIsRecorded() throws Exception {
        assertEquals(0, vessel("", "run", "-d", "--name", "survivor", image, "sleep", "1000").code());
        assertEquals(0, vessel("", "exec", "-d", "survivor", "sleep", "1000").code());
        JsonNode exec = status("survivor").get("execs").get(0);
        long pid = exec.path("pid").asLong();
        assertTrue(pid > 0 && Files.exists(Path.of("/proc/" + pid)), exec::toString);

        node.kill9AndRestart();
        JsonNode found = status("survivor").get("execs").get(0);
        assertEquals("EXEC_RUNNING", found.path("state").asText(), found::toString);
        assertEquals(pid, found.path("pid").asLong(), found::toString);

        new ProcessBuilder("kill", "-9", Long.toString(pid)).start().waitFor();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!status("survivor").at("/execs/0/state").asText().equals("EXEC_EXITED")) {
            assertTrue(System.nanoTime() < deadline, "the recovered exec's end was never recorded");
            Thread.sleep(50);
        }
        assertEquals(137, status("survivor").at("/execs/0/exit_code").asInt());
        assertEquals("RUNNING", status("survivor").path("state").asText());
        assertEquals(0, vessel("", "rm", "-f", "survivor").code());
        assertFalse(Files.exists(node.daemon().runDir().resolve("containers").resolve("survivor")));
    }

    private static void umoci(String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of("umoci"));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("umoci " + String.join(" ", args) + ": " + out);
        }
    }
}
