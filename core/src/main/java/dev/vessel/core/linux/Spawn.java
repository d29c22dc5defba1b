package dev.vessel.core.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.List;

/**
 * Starts a program with posix_spawn(3): the C library's vfork and exec, without the JDK's
 * jspawnhelper and its second exec in between (what {@link ProcessBuilder} costs). The caller gets
 * a bare pid: the JDK does not know the child, so the caller must reap it (see
 * {@link LibC#waitExited}).
 *
 * <p>The child gets the three given descriptors as its stdin, stdout and stderr and the JVM's
 * environment. It also inherits every descriptor the JVM holds without close-on-exec, which the JDK
 * opens its files with, the signal mask of the calling thread (JVM threads block some signals) and
 * the signals the JVM ignores: a program started this way must close what it does not expect and
 * reset its signals. That keeps this to four native functions, each a downcall to link on first
 * use, which costs most in a guest under emulation.
 */
public final class Spawn {
    /**
     * The C library's opaque type is allocated, not laid out: glibc's posix_spawn_file_actions_t
     * takes 80 bytes (x86_64 and aarch64). Far more, in case another C library or version grows it.
     */
    private static final long OPAQUE_SIZE = 1024;
    private static final long OPAQUE_ALIGN = 16;

    private static final Linker LINKER = Linker.nativeLinker();
    /** The C library's {@code char **environ}: read at each spawn, so what the process has now. */
    private static final MemorySegment ENVIRON = LINKER.defaultLookup().findOrThrow("environ")
            .reinterpret(ADDRESS.byteSize());

    // These return an error number instead of setting errno.
    private static final MethodHandle SPAWN = downcall("posix_spawn",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle ACTIONS_INIT = downcall("posix_spawn_file_actions_init",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ACTIONS_ADDDUP2 = downcall("posix_spawn_file_actions_adddup2",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACTIONS_DESTROY = downcall("posix_spawn_file_actions_destroy",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));

    private Spawn() {
    }

    private static MethodHandle downcall(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow(name), descriptor);
    }

    /**
     * Starts {@code program} with {@code args} (its argv, argv[0] included) and {@code stdin},
     * {@code stdout}, {@code stderr} as its descriptors 0, 1 and 2 (close-on-exec or not: the copies
     * are not). Returns its pid once it has exec'd; an exec that fails (no such file, not
     * executable) fails here, naming the program.
     */
    public static long spawn(Path program, List<String> args, int stdin, int stdout, int stderr)
            throws ErrnoException {
        int rc;
        long pid;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment actions = arena.allocate(OPAQUE_SIZE, OPAQUE_ALIGN);
            MemorySegment argv = arena.allocate(ADDRESS, args.size() + 1L);
            for (int i = 0; i < args.size(); i++) {
                argv.setAtIndex(ADDRESS, i, arena.allocateFrom(args.get(i)));
            }
            argv.setAtIndex(ADDRESS, args.size(), MemorySegment.NULL);
            MemorySegment pidOut = arena.allocate(JAVA_INT);
            check("posix_spawn_file_actions_init", (int) ACTIONS_INIT.invokeExact(actions));
            try {
                // The sources are above 2 while the JVM keeps 0-2 open: no dup2 overwrites a later one's source.
                check("posix_spawn_file_actions_adddup2", (int) ACTIONS_ADDDUP2.invokeExact(actions, stdin, 0));
                check("posix_spawn_file_actions_adddup2", (int) ACTIONS_ADDDUP2.invokeExact(actions, stdout, 1));
                check("posix_spawn_file_actions_adddup2", (int) ACTIONS_ADDDUP2.invokeExact(actions, stderr, 2));
                MemorySegment environ = ENVIRON.get(ADDRESS, 0);
                rc = (int) SPAWN.invokeExact(pidOut, arena.allocateFrom(program.toString()), actions,
                        MemorySegment.NULL, argv, environ);
                pid = pidOut.get(JAVA_INT, 0);
            } finally {
                int ignored = (int) ACTIONS_DESTROY.invokeExact(actions);
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("posix_spawn downcall failed", t);
        }
        if (rc != 0) {
            throw new ErrnoException("posix_spawn " + program, rc);
        }
        return pid;
    }

    private static void check(String call, int rc) throws ErrnoException {
        if (rc != 0) {
            throw new ErrnoException(call, rc);
        }
    }
}
