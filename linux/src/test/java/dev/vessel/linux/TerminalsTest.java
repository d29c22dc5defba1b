package dev.vessel.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@link TtyDevice} and {@link RawTerminal} on a real pseudo-terminal this test opens: the device is
 * read with a timeout and reports its master's hang-up; raw mode turns echo and line editing off and
 * gives the terminal back exactly as it was.
 */
class TerminalsTest {
    private static final int O_RDWR = 0x2, O_NOCTTY = 0x100;
    private static final long TIOCGPTN = 0x80045430L, TIOCSPTLCK = 0x40045431L;
    /** c_lflag's offset in struct termios, and two of its bits. */
    private static final long LFLAG = 12;
    private static final int ICANON = 0x2, ECHO = 0x8;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle IOCTL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("ioctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle WRITE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("write"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle TCGETATTR = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("tcgetattr"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));

    private int master = -1;
    private Path slave;

    @BeforeEach
    void openPty() throws Throwable {
        master = LibC.open("/dev/ptmx", O_RDWR | O_NOCTTY);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(JAVA_INT);
            assertEquals(0, (int) IOCTL.invokeExact(master, TIOCSPTLCK, n)); // 0: unlock
            assertEquals(0, (int) IOCTL.invokeExact(master, TIOCGPTN, n));
            slave = Path.of("/dev/pts/" + n.get(JAVA_INT, 0));
        }
    }

    @AfterEach
    void closePty() {
        if (master >= 0) {
            LibC.close(master);
        }
    }

    @Test
    void aDeviceIsReadWithATimeoutAndReportsItsMastersHangUp() throws Throwable {
        try (TtyDevice tty = TtyDevice.open(slave)) {
            byte[] buf = new byte[64];
            assertEquals(0, tty.read(buf, 50), "nothing was written, yet something was read");
            writeToMaster("ping\n");
            int n = tty.read(buf, 2000);
            assertEquals("ping\n", new String(buf, 0, n, StandardCharsets.UTF_8));
            LibC.close(master);
            master = -1;
            assertEquals(-1, tty.read(buf, 2000), "the master's hang-up was not reported");
        }
    }

    @Test
    void rawModeTurnsEchoAndLineEditingOffAndGivesTheTerminalBack() throws Throwable {
        int fd = LibC.open(slave.toString(), O_RDWR | O_NOCTTY);
        try {
            assertTrue(RawTerminal.isTerminal(fd));
            int before = localFlags(fd);
            assertEquals(ICANON | ECHO, before & (ICANON | ECHO), "a new pty starts cooked, echoing");
            try (RawTerminal raw = RawTerminal.enter(fd)) {
                assertEquals(0, localFlags(fd) & (ICANON | ECHO), "raw mode left echo or line editing on");
            }
            assertEquals(before, localFlags(fd), "the terminal did not get its settings back");
        } finally {
            LibC.close(fd);
        }
        int notATerminal = LibC.open("/proc/self/stat", 0);
        try {
            assertFalse(RawTerminal.isTerminal(notATerminal));
        } finally {
            LibC.close(notATerminal);
        }
    }

    @Test
    void aTerminalsSizeIsSetOnItsMasterAndReadOnItsSlave() throws Throwable {
        int fd = LibC.open(slave.toString(), O_RDWR | O_NOCTTY);
        try {
            new TerminalSize(33, 101).applyTo(master);
            assertEquals(java.util.Optional.of(new TerminalSize(33, 101)), TerminalSize.of(fd));
        } finally {
            LibC.close(fd);
        }
        int notATerminal = LibC.open("/proc/self/stat", 0);
        try {
            assertEquals(java.util.Optional.empty(), TerminalSize.of(notATerminal));
        } finally {
            LibC.close(notATerminal);
        }
    }

    private void writeToMaster(String text) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            MemorySegment buf = arena.allocateFrom(JAVA_BYTE, bytes);
            assertEquals(bytes.length, (long) WRITE.invokeExact(master, buf, (long) bytes.length));
        }
    }

    private static int localFlags(int fd) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment termios = arena.allocate(128);
            assertEquals(0, (int) TCGETATTR.invokeExact(fd, termios));
            return termios.get(JAVA_INT, LFLAG);
        }
    }
}
