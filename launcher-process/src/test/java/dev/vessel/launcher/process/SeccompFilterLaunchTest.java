package dev.vessel.launcher.process;

import static dev.vessel.launcher.process.Fixtures.config;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.SeccompFilter;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The helper's SECCOMP_FILTER record with small hand-written programs (the isolator's real ones are
 * tested with the isolators): the filter is in force for the task's execve and for nothing of the
 * helper's own setup before it, and a program the kernel refuses fails the launch naming the step.
 */
class SeccompFilterLaunchTest {
    /** SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO | EPERM. */
    static final int ALLOW = 0x7fff0000, EPERM = 0x00050001;
    static final int BPF_LD_W_ABS = 0x20, BPF_JEQ_K = 0x15, BPF_RET_K = 0x06, BPF_JA = 0x05;
    static final boolean X86_64 = System.getProperty("os.arch").equals("amd64");
    /** execve's number. */
    static final int EXECVE = X86_64 ? 59 : 221;
    /** What the helper calls between its credentials and the execve: dup2/dup3, close_range, rt_sigaction,
     * rt_sigprocmask, prctl, poll/ppoll. */
    static final List<Integer> HELPER_SETUP = X86_64 ? List.of(33, 292, 436, 13, 14, 157, 7, 271)
            : List.of(24, 436, 134, 135, 167, 73);

    @TempDir
    static Path tmp;

    static Path rootfs;
    static RuntimePaths paths;
    static UnifiedContainerizer containerizer;

    /** Gives each container the program its label {@code program} names, as linux/seccomp would. */
    static final class ProgramIsolator implements Isolator {
        @Override
        public String name() {
            return "test/seccomp";
        }

        @Override
        public LaunchInfo prepare(PrepareContext context) {
            byte[] program = switch (context.config().getLabelsOrThrow("program")) {
                case "deny-execve" -> denying(List.of(EXECVE));
                case "deny-helper-setup" -> denying(HELPER_SETUP);
                case "jump-out" -> instruction(BPF_JA, 0, 0, 5); // past the end: the kernel's checker refuses it
                default -> throw new IllegalArgumentException("no such program");
            };
            return LaunchInfo.newBuilder().setSeccomp(SeccompFilter.newBuilder()
                    .setProgram(ByteString.copyFrom(program))).build();
        }
    }

    /** EPERM for these system call numbers, every other allowed (no architecture check: a test's). */
    static byte[] denying(List<Integer> numbers) {
        ByteBuffer b = ByteBuffer.allocate(8 * (numbers.size() + 3));
        b.put(instruction(BPF_LD_W_ABS, 0, 0, 0)); // seccomp_data.nr
        for (int i = 0; i < numbers.size(); i++) {
            b.put(instruction(BPF_JEQ_K, numbers.size() - i, 0, numbers.get(i))); // to the EPERM return
        }
        b.put(instruction(BPF_RET_K, 0, 0, ALLOW)).put(instruction(BPF_RET_K, 0, 0, EPERM));
        return b.array();
    }

    /** struct sock_filter { u16 code; u8 jt, jf; u32 k; } in this machine's byte order. */
    static byte[] instruction(int code, int jt, int jf, int k) {
        return ByteBuffer.allocate(8).order(ByteOrder.nativeOrder()).putShort((short) code).put((byte) jt)
                .put((byte) jf).putInt(k).array();
    }

    @BeforeAll
    static void setUp() throws Exception {
        Fixtures.requireEnvironment();
        rootfs = Fixtures.busyboxRootfs(tmp.resolve("rootfs"));
        paths = new RuntimePaths(tmp.resolve("state"), tmp.resolve("run"));
        containerizer = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(ProcessLauncher.withBundledHelper(paths)).isolators(List.of(new ProgramIsolator())).build();
        containerizer.recover();
    }

    static ContainerConfig.Builder task(String id, String program, String... command) {
        return config(rootfs, id, command).putLabels("program", program);
    }

    @Test
    void theFilterComesAfterTheHelpersSetupAndIsInstalledForTheTask() throws Exception {
        // were it installed earlier, the helper's own dup2, close_range or prctl would fail
        containerizer.launch(task("after-setup", "deny-helper-setup", "/bin/grep", "^Seccomp", "/proc/self/status").build());
        Termination t = containerizer.wait("after-setup").get(10, TimeUnit.SECONDS);
        assertEquals(TerminationReason.EXITED, t.getReason(), t::toString);
        assertEquals(0, t.getExitCode(), t::toString);
        assertEquals("Seccomp:\t2\nSeccomp_filters:\t1\n",
                Fixtures.read(paths.stdoutLog(Fixtures.containerDir(paths, "after-setup"))));
    }

    @Test
    void theFilterIsInForceForTheExecve() {
        VesselException e = assertThrows(VesselException.class,
                () -> containerizer.launch(task("no-execve", "deny-execve", "/bin/true").build()));
        assertTrue(e.getMessage().contains("execve /bin/true: Operation not permitted"), e.getMessage());
        assertFalse(Files.exists(Fixtures.containerDir(paths, "no-execve")), "container directory left behind");
    }

    @Test
    void aProgramTheKernelRefusesFailsTheLaunchNamingSeccomp() {
        VesselException e = assertThrows(VesselException.class,
                () -> containerizer.launch(task("jump-out", "jump-out", "/bin/true").build()));
        assertTrue(e.getMessage().contains("seccomp: Invalid argument"), e.getMessage());
        assertFalse(Files.exists(Fixtures.containerDir(paths, "jump-out")), "container directory left behind");
    }
}
