package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.linux.PosixAcls;
import dev.vessel.node.DaemonProcess;
import dev.vessel.node.cli.Pty;
import dev.vessel.node.cli.TerminalCliTest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code vessel run --vm -it} and {@code vessel exec -it} into a VM task as a person at a terminal uses them:
 * the CLI in its own JVM on a pseudo-terminal the test holds the master of, driven as for a process container
 * ({@link TerminalCliTest#driveShell}), against a real vesseld whose task's shell runs on a pty in the guest.
 * One VM boot each.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a stuck read fails, never hangs
class VmTerminalCliTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String CGROUP_PARENT = "vessel-vmcli-" + ProcessHandle.current().pid();
    private static Path dir;
    private static String image;
    private static DaemonProcess daemon;

    @BeforeAll
    static void startDaemon() throws Exception {
        VmNode.requireRootAndLibvirt();
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-vmcli-");
        QemuUser.ofHost().allow(dir, PosixAcls.EXECUTE); // QEMU's user reaches the state dir in it
        VmNode.busyboxImage(dir);
        image = "oci:" + dir.resolve("layout") + ":busybox";
        daemon = DaemonProcess.start(dir.resolve("node"), CGROUP_PARENT, "--guest-artifacts",
                VmNode.artifactsDir().toAbsolutePath().toString());
        VmNode.Cli pulled = vessel("pull", image);
        assertEquals(0, pulled.code(), pulled::toString);
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        try {
            if (daemon != null && daemon.alive()) {
                for (JsonNode c : JSON.readTree(vessel("ps", "-a", "--json").out()).get("containers")) {
                    vessel("rm", "-f", c.get("id").asText());
                }
                daemon.stop();
            }
        } finally {
            DaemonProcess.removeCgroupParent(CGROUP_PARENT);
            if (dir != null) {
                VmNode.run("rm", "-rf", dir.toString());
            }
        }
    }

    @Test
    void runVmItGivesATerminalOnTheGuestsShell() throws Throwable {
        try (Pty pty = Pty.open(24, 80)) {
            String before = pty.settings();
            Process cli = pty.spawn(VmNode.cliCommand(daemon.socket, "run", "--vm", "-it", "--rm", "--name", "vterm",
                    image, "sh"));
            // a VM booted (tens of seconds under TCG), attached before the guest ran it: its first prompt is not missed
            if (pty.within(TerminalCliTest.PROMPT, TimeUnit.MINUTES.toMillis(4)) == null) {
                throw new AssertionError("no prompt; the screen:\n" + pty.screen() + "\nthe daemon:\n" + daemon.output());
            }
            pty.type("stty size\r");
            pty.expect("24 80"); // the window's size, sent before the start, reached the guest's pty
            TerminalCliTest.driveShell(pty, cli);
            assertEquals(before, pty.settings(), "the terminal was not given back as it was");
        }
        assertFalse(vessel("ps", "-a").out().contains("vterm"), "--rm left the container");
    }

    @Test
    void execItGivesATerminalInARunningVmTask() throws Throwable {
        VmNode.Cli started = vessel("run", "-d", "--vm", "--name", "vexec", image, "sleep", "1000");
        assertEquals(0, started.code(), started::toString);
        try (Pty pty = Pty.open(24, 80)) {
            String before = pty.settings();
            Process cli = pty.spawn(VmNode.cliCommand(daemon.socket, "exec", "-it", "vexec", "sh"));
            TerminalCliTest.driveShell(pty, cli);
            assertEquals(before, pty.settings(), "the terminal was not given back as it was");
        }
        JsonNode exec = JSON.readTree(vessel("inspect", "--json", "vexec").out()).at("/status/execs/0");
        assertEquals("EXEC_EXITED", exec.path("state").asText(), exec::toString);
        assertEquals(3, exec.path("exit_code").asInt(), exec::toString);
        assertEquals("true", exec.at("/config/tty").asText(), exec::toString);
        assertEquals("RUNNING", JSON.readTree(vessel("inspect", "--json", "vexec").out()).at("/status/state").asText());
        assertEquals(0, vessel("rm", "-f", "vexec").code());
    }

    private static VmNode.Cli vessel(String... args) throws Exception {
        return VmNode.cli(daemon.socket, dir, args);
    }
}
