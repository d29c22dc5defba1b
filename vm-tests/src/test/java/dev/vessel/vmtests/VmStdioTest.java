package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.ExecState;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Terminals, attach and exec of a VM task through the containerizer, the VM launcher and the guest agent,
 * in one boot: a shell on a pty made in the guest container's devpts, attached, resized, interrupted,
 * detached and attached again; execs with and without a terminal, their environment, user, working
 * directory and exit codes; the task's exit code on its attach stream and in its termination.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a stuck read fails, never hangs
class VmStdioTest {
    private static final String ID = "vm-tty";
    private static VmNode node;
    private static ImageReference image;

    @BeforeAll
    static void startNode() throws Exception {
        node = VmNode.inNewDir("vessel-vmstdio-");
        image = VmNode.busyboxImage(node.dir);
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.destroyAllCloseAndDeleteDir();
        }
    }

    @Test
    void aShellOnATerminalInTheGuestIsAttachedResizedInterruptedExecdIntoAndExits() throws Exception {
        node.containerizer.launch(ContainerConfig.newBuilder().setId(ID).setIsolation(Isolation.VM).setImage(image)
                .addCommand("/bin/sh").setTty(true).setInteractive(true).build());

        try (StdioChannel shell = node.containerizer.attach(ID)) {
            type(shell, "echo $((6 * 7))-answered\n");
            readUntil(shell, "42-answered");
            type(shell, "tty\n");
            readUntil(shell, "/dev/pts/");
            node.containerizer.resize(ID, 33, 101);
            type(shell, "stty size\n");
            readUntil(shell, "33 101");
            type(shell, "sleep 1000\n");
            awaitSleeping();
            type(shell, "\u0003"); // Ctrl-C, as a terminal sends it: the guest's line discipline signals the sleep
            readUntil(shell, "^C");
            type(shell, "echo after-$?\n"); // an interactive shell drops the rest of an interrupted line
            readUntil(shell, "after-130");
        } // detached: the shell runs on
        assertEquals(ContainerState.RUNNING, node.containerizer.status(ID).getState());

        // an exec without a terminal: its own streams, environment, user, working directory and exit code
        String plain = node.containerizer.execCreate(ID, ExecConfig.newBuilder()
                .addAllCommand(List.of("/bin/sh", "-c", "echo $GREETING $(id -u):$(id -g) $(pwd); echo oops >&2; exit 5"))
                .addEnv(EnvVar.newBuilder().setName("GREETING").setValue("hello-from-exec"))
                .setUser("1000:1000").setWorkingDir("/tmp").build()).getId();
        Output out = drain(node.containerizer.execStart(ID, plain));
        assertEquals("hello-from-exec 1000:1000 /tmp\n", out.stdout, out::toString);
        assertEquals("oops\n", out.stderr, out::toString);
        assertEquals(5, out.exit);
        assertEquals(ExecState.EXEC_EXITED, awaitExecEnd(plain).getState());
        assertEquals(5, node.containerizer.execStatus(ID, plain).getExitCode());

        // an exec on a terminal of its own
        String tty = node.containerizer.execCreate(ID, ExecConfig.newBuilder().addCommand("/bin/sh")
                .setTty(true).setInteractive(true).build()).getId();
        try (StdioChannel exec = node.containerizer.execStart(ID, tty)) {
            type(exec, "tty; echo in-$((40 + 2))\n");
            String seen = readUntil(exec, "in-42");
            assertTrue(seen.contains("/dev/pts/"), seen);
            type(exec, "exit 4\n");
            assertEquals(4, readUntilExit(exec));
        }

        // attached again, the shell ends: its code on the stream and in its termination
        try (StdioChannel shell = node.containerizer.attach(ID)) {
            type(shell, "exit 3\n");
            assertEquals(3, readUntilExit(shell));
        }
        Termination end = node.containerizer.wait(ID).get(2, TimeUnit.MINUTES);
        assertEquals(3, end.getExitCode(), end::toString);
    }

    /** Until the shell's sleep runs (asked through execs), so that the Ctrl-C is its and not the prompt's. */
    private static void awaitSleeping() throws Exception {
        for (int i = 0; i < 600; i++) {
            String id = node.containerizer.execCreate(ID, ExecConfig.newBuilder()
                    .addAllCommand(List.of("/bin/pidof", "sleep")).build()).getId();
            if (drain(node.containerizer.execStart(ID, id)).exit == 0) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("the shell's sleep never ran");
    }

    private static dev.vessel.core.model.ExecStatus awaitExecEnd(String execId) throws InterruptedException {
        for (int i = 0; i < 600; i++) {
            var status = node.containerizer.execStatus(ID, execId);
            if (status.getState() == ExecState.EXEC_EXITED) {
                return status;
            }
            Thread.sleep(100);
        }
        return node.containerizer.execStatus(ID, execId);
    }

    private static void type(StdioChannel channel, String text) throws IOException {
        channel.write(StdioFrame.stdin(text.getBytes(StandardCharsets.UTF_8)));
    }

    /** Reads output until it contains {@code text}; returns all of it. Fails at the stream's end. */
    private static String readUntil(StdioChannel channel, String text) throws IOException {
        StringBuilder seen = new StringBuilder();
        while (!seen.toString().contains(text)) {
            StdioFrame frame = channel.read();
            if (frame == null || frame.type() == StdioFrame.Type.EXIT) {
                throw new AssertionError("the stream ended (" + frame + ") before '" + text + "' in: " + seen);
            }
            seen.append(new String(frame.payload(), StandardCharsets.UTF_8));
        }
        return seen.toString();
    }

    private static int readUntilExit(StdioChannel channel) throws IOException {
        for (StdioFrame frame; (frame = channel.read()) != null; ) {
            if (frame.type() == StdioFrame.Type.EXIT) {
                return frame.exitStatus();
            }
        }
        throw new AssertionError("the stream ended without an EXIT frame");
    }

    private record Output(String stdout, String stderr, int exit) {
    }

    private static Output drain(StdioChannel channel) throws IOException {
        try (channel) {
            StringBuilder out = new StringBuilder();
            StringBuilder err = new StringBuilder();
            for (StdioFrame frame; (frame = channel.read()) != null; ) {
                switch (frame.type()) {
                    case STDOUT -> out.append(new String(frame.payload(), StandardCharsets.UTF_8));
                    case STDERR -> err.append(new String(frame.payload(), StandardCharsets.UTF_8));
                    case EXIT -> {
                        return new Output(out.toString(), err.toString(), frame.exitStatus());
                    }
                    default -> throw new AssertionError("unexpected " + frame);
                }
            }
            throw new AssertionError("the stream ended without an EXIT frame; out: " + out + ", err: " + err);
        }
    }
}
