package dev.vessel.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * A terminal put in raw mode (no echo, no line editing, no signals from Ctrl-C: every key goes through
 * as a byte), as ssh and {@code virsh console} do for a remote terminal, and given back exactly as it
 * was on {@link #close} — also when the JVM exits without closing it.
 */
public final class RawTerminal implements AutoCloseable {
    public static final int STDIN = 0;
    private static final int TCSANOW = 0;
    /** glibc's struct termios is 60 bytes; room to spare. */
    private static final long TERMIOS_BYTES = 128;
    private static final MethodHandle ISATTY = ErrnoCalls.downcall("isatty", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle TCGETATTR = ErrnoCalls.downcall("tcgetattr",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle TCSETATTR = ErrnoCalls.downcall("tcsetattr",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle CFMAKERAW = ErrnoCalls.downcall("cfmakeraw",
            FunctionDescriptor.ofVoid(ADDRESS));

    private final int fd;
    private final byte[] saved;
    private final Thread restoreAtExit;
    private boolean restored;

    private RawTerminal(int fd, byte[] saved) {
        this.fd = fd;
        this.saved = saved;
        this.restoreAtExit = new Thread(this::restore, "restore-terminal");
        Runtime.getRuntime().addShutdownHook(restoreAtExit);
    }

    public static boolean isTerminal(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            return (int) ISATTY.invokeExact(ErrnoCalls.newErrnoState(arena), fd) == 1;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** Puts the terminal on {@code fd} in raw mode. */
    public static RawTerminal enter(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            MemorySegment termios = arena.allocate(TERMIOS_BYTES);
            if ((int) TCGETATTR.invokeExact(state, fd, termios) != 0) {
                throw new ErrnoException("tcgetattr " + fd, ErrnoCalls.errno(state));
            }
            byte[] saved = termios.toArray(JAVA_BYTE);
            CFMAKERAW.invokeExact(state, termios);
            if ((int) TCSETATTR.invokeExact(state, fd, TCSANOW, termios) != 0) {
                throw new ErrnoException("tcsetattr " + fd, ErrnoCalls.errno(state));
            }
            return new RawTerminal(fd, saved);
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    private synchronized void restore() {
        if (restored) {
            return;
        }
        restored = true;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment termios = arena.allocateFrom(JAVA_BYTE, saved);
            int ignored = (int) TCSETATTR.invokeExact(ErrnoCalls.newErrnoState(arena), fd, TCSANOW, termios);
        } catch (Throwable t) {
            // nothing better to do with a terminal that will not take its settings back
        }
    }

    /** Gives the terminal its settings back. */
    @Override
    public void close() {
        restore();
        try {
            Runtime.getRuntime().removeShutdownHook(restoreAtExit);
        } catch (IllegalStateException e) {
            // the JVM is exiting: the hook restores (restored already, so it does nothing)
        }
    }
}
