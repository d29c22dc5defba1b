package dev.vessel.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A listening unix socket as a bare descriptor, for handing to another process (QEMU takes one over its
 * monitor): the JDK's {@code ServerSocketChannel} keeps its descriptor to itself.
 */
public final class UnixListener {
    private static final short AF_UNIX = 1;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_CLOEXEC = 0x80000;
    /** {@code sockaddr_un}: the family, then the path with its NUL in 108 bytes. */
    private static final int PATH_OFFSET = 2;
    private static final int PATH_BYTES = 108;

    private static final MethodHandle SOCKET =
            ErrnoCalls.downcall("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle BIND =
            ErrnoCalls.downcall("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LISTEN =
            ErrnoCalls.downcall("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    private UnixListener() {
    }

    /**
     * A new socket bound at {@code path} (which must not exist) and listening with this backlog; the caller
     * closes the descriptor ({@link LibC#close}) and removes the path when done.
     */
    public static int listen(Path path, int backlog) throws ErrnoException {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length >= PATH_BYTES) {
            throw new IllegalArgumentException("a unix socket path has at most " + (PATH_BYTES - 1) + " bytes: "
                    + path);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            int fd = (int) SOCKET.invokeExact(state, (int) AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                throw new ErrnoException("socket for " + path, ErrnoCalls.errno(state));
            }
            MemorySegment address = arena.allocate(PATH_OFFSET + PATH_BYTES);
            address.set(JAVA_SHORT, 0, AF_UNIX);
            MemorySegment.copy(name, 0, address, JAVA_BYTE, PATH_OFFSET, name.length);
            try {
                if ((int) BIND.invokeExact(state, fd, address, (int) address.byteSize()) != 0) {
                    throw new ErrnoException("bind " + path, ErrnoCalls.errno(state));
                }
                if ((int) LISTEN.invokeExact(state, fd, backlog) != 0) {
                    throw new ErrnoException("listen on " + path, ErrnoCalls.errno(state));
                }
                return fd;
            } catch (ErrnoException | RuntimeException e) {
                LibC.close(fd);
                throw e;
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
    }
}
