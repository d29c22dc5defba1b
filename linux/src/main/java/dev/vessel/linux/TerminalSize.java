package dev.vessel.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/** A terminal's size in character cells, as {@code TIOCGWINSZ} reports it and {@code TIOCSWINSZ} sets it. */
public record TerminalSize(int rows, int columns) {
    private static final long TIOCGWINSZ = 0x5413, TIOCSWINSZ = 0x5414;
    private static final MethodHandle IOCTL = ErrnoCalls.variadicDowncall("ioctl",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, ADDRESS), 2);

    /** The size of the terminal on {@code fd}; empty when it is not a terminal, or one that reports none (0x0). */
    public static Optional<TerminalSize> of(int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment winsize = arena.allocate(8, 2); // struct winsize { unsigned short row, col, xpixel, ypixel; }
            if ((int) IOCTL.invokeExact(ErrnoCalls.newErrnoState(arena), fd, TIOCGWINSZ, winsize) != 0) {
                return Optional.empty();
            }
            int rows = winsize.get(JAVA_SHORT, 0) & 0xFFFF;
            int columns = winsize.get(JAVA_SHORT, 2) & 0xFFFF;
            return rows == 0 || columns == 0 ? Optional.empty() : Optional.of(new TerminalSize(rows, columns));
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }

    /** Sets the size of the terminal on {@code fd} (the kernel then sends SIGWINCH to its foreground group). */
    public void applyTo(int fd) throws ErrnoException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            MemorySegment winsize = arena.allocate(8, 2);
            winsize.set(JAVA_SHORT, 0, (short) rows);
            winsize.set(JAVA_SHORT, 2, (short) columns);
            if ((int) IOCTL.invokeExact(state, fd, TIOCSWINSZ, winsize) != 0) {
                throw new ErrnoException("TIOCSWINSZ " + fd, ErrnoCalls.errno(state));
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }
}
