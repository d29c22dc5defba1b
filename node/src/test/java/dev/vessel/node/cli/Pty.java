package dev.vessel.node.cli;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.vessel.linux.LibC;
import dev.vessel.linux.TerminalSize;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A pseudo-terminal the test holds the master of, as a terminal emulator does: a program started on its
 * slave (as its controlling terminal, through {@code setsid -c}) is what a person at a terminal runs; the
 * test reads what it prints, types, and resizes the window.
 */
public final class Pty implements AutoCloseable {
    private static final int O_RDWR = 0x2, O_NOCTTY = 0x100;
    private static final long TIOCGPTN = 0x80045430L, TIOCSPTLCK = 0x40045431L;
    private static final short POLLIN = 0x1;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle IOCTL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("ioctl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), Linker.Option.firstVariadicArg(2));
    private static final MethodHandle READ = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("read"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("write"),
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle POLL = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("poll"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));

    private final int master;
    final Path slave;
    /** Everything the program printed so far. */
    private final ByteArrayOutputStream screen = new ByteArrayOutputStream();
    /** Where {@link #expect} looks from: the screen after the last match. */
    private int seen;

    private Pty(int master, Path slave) {
        this.master = master;
        this.slave = slave;
    }

    public static Pty open(int rows, int columns) throws Throwable {
        int master = LibC.open("/dev/ptmx", O_RDWR | O_NOCTTY);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(JAVA_INT);
            check((int) IOCTL.invokeExact(master, TIOCSPTLCK, n), "unlock"); // 0: unlock
            check((int) IOCTL.invokeExact(master, TIOCGPTN, n), "TIOCGPTN");
            Pty pty = new Pty(master, Path.of("/dev/pts/" + n.get(JAVA_INT, 0)));
            pty.resize(rows, columns);
            return pty;
        }
    }

    private static void check(int rc, String what) {
        if (rc != 0) {
            throw new IllegalStateException(what + " failed on the pty master");
        }
    }

    /** Starts {@code command} with the slave as its stdin, stdout, stderr and controlling terminal. */
    public Process spawn(List<String> command) throws IOException {
        return spawn(command, java.util.Map.of());
    }

    /** As {@link #spawn(List)}, with {@code environment} added to this JVM's. */
    public Process spawn(List<String> command, java.util.Map<String, String> environment) throws IOException {
        List<String> all = new ArrayList<>(List.of("setsid", "-w", "-c"));
        all.addAll(command);
        ProcessBuilder builder = new ProcessBuilder(all).redirectInput(slave.toFile()).redirectOutput(slave.toFile())
                .redirectError(slave.toFile());
        builder.environment().putAll(environment);
        return builder.start();
    }

    /** The window's new size: the kernel tells the terminal's foreground process group (SIGWINCH). */
    public void resize(int rows, int columns) throws Exception {
        new TerminalSize(rows, columns).applyTo(master);
    }

    /** What a person types. */
    public void type(String keys) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            byte[] bytes = keys.getBytes(StandardCharsets.UTF_8);
            MemorySegment buf = arena.allocateFrom(JAVA_BYTE, bytes);
            if ((long) WRITE.invokeExact(master, buf, (long) bytes.length) != bytes.length) {
                throw new IOException("typing into the pty failed");
            }
        }
    }

    /** Reads what is printed until {@code text} appears (after the last match); fails with the screen after a while. */
    public String expect(String text) throws Throwable {
        String upTo = within(text, TimeUnit.SECONDS.toMillis(60));
        if (upTo == null) {
            throw new AssertionError("never printed " + text + "; the screen:\n" + screen());
        }
        return upTo;
    }

    /** As {@link #expect}, waiting at most {@code millis}: what was printed up to {@code text}, or null. */
    public String within(String text, long millis) throws Throwable {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (true) {
            String all = screen.toString(StandardCharsets.UTF_8);
            int at = all.indexOf(text, seen);
            if (at >= 0) {
                String upTo = all.substring(seen, at + text.length());
                seen = at + text.length();
                return upTo;
            }
            if (System.nanoTime() > deadline) {
                return null;
            }
            readSome(50);
        }
    }

    /** Reads what is there within {@code timeoutMillis}; false once the slave side is closed by all. */
    boolean readSome(int timeoutMillis) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollfd = arena.allocate(8, 4);
            pollfd.set(JAVA_INT, 0, master);
            pollfd.set(JAVA_SHORT, 4, POLLIN);
            int ready = (int) POLL.invokeExact(pollfd, 1L, timeoutMillis);
            if (ready <= 0) {
                return true;
            }
            MemorySegment buf = arena.allocate(4096);
            long n = (long) READ.invokeExact(master, buf, 4096L);
            if (n <= 0) {
                Thread.sleep(timeoutMillis); // EIO: nobody has the slave open now
                return false;
            }
            screen.write(buf.asSlice(0, n).toArray(JAVA_BYTE));
            return true;
        }
    }

    /** What was printed so far. */
    public String screen() {
        return screen.toString(StandardCharsets.UTF_8);
    }

    /** The terminal's settings as {@code stty -g} prints them. */
    public String settings() throws Exception {
        Process p = new ProcessBuilder("stty", "-g", "-F", slave.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (p.waitFor() != 0) {
            throw new IOException("stty -g: " + out);
        }
        return out;
    }

    /** Waits for a program started on it, reading what it prints meanwhile (a full pty would block it). */
    public int await(Process p) throws Throwable {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!p.waitFor(50, TimeUnit.MILLISECONDS)) {
            readSome(50);
            if (System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new AssertionError("the program did not end; the screen:\n" + screen());
            }
        }
        readSome(50);
        return p.exitValue();
    }

    @Override
    public void close() {
        LibC.close(master);
    }
}
