package dev.vessel.core.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

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
 * <p>The child gets the three given descriptors as its stdin, stdout and stderr, every signal at
 * its default disposition, an empty signal mask (JVM threads block some signals) and the JVM's
 * environment. It also inherits every descriptor the JVM holds without close-on-exec, which the JDK
 * opens its files with: a program started this way must close what it does not expect.
 */
public final class Spawn {
    private static final short POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final short POSIX_SPAWN_SETSIGMASK = 0x08;
    /**
     * The C library's opaque types are allocated, not laid out: glibc's posix_spawn_file_actions_t
     * takes 80 bytes, posix_spawnattr_t 336 and sigset_t 128 (x86_64 and aarch64). Twice that and
     * more, in case another C library or version grows them.
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
    private static final MethodHandle ATTR_INIT = downcall("posix_spawnattr_init",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ATTR_SETFLAGS = downcall("posix_spawnattr_setflags",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_SHORT));
    private static final MethodHandle ATTR_SETSIGMASK = downcall("posix_spawnattr_setsigmask",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ATTR_SETSIGDEFAULT = downcall("posix_spawnattr_setsigdefault",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ATTR_DESTROY = downcall("posix_spawnattr_destroy",
            FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle SIGEMPTYSET = downcall("sigemptyset", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle SIGFILLSET = downcall("sigfillset", FunctionDescriptor.of(JAVA_INT, ADDRESS));

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
            MemorySegment attr = arena.allocate(OPAQUE_SIZE, OPAQUE_ALIGN);
            MemorySegment noSignals = arena.allocate(OPAQUE_SIZE, OPAQUE_ALIGN);
            MemorySegment allSignals = arena.allocate(OPAQUE_SIZE, OPAQUE_ALIGN);
            MemorySegment argv = arena.allocate(ADDRESS, args.size() + 1L);
            for (int i = 0; i < args.size(); i++) {
                argv.setAtIndex(ADDRESS, i, arena.allocateFrom(args.get(i)));
            }
            argv.setAtIndex(ADDRESS, args.size(), MemorySegment.NULL);
            MemorySegment pidOut = arena.allocate(JAVA_INT);
            check("posix_spawn_file_actions_init", (int) ACTIONS_INIT.invokeExact(actions));
            try {
                check("posix_spawnattr_init", (int) ATTR_INIT.invokeExact(attr));
                try {
                    // The sources are above 2 while the JVM keeps 0-2 open: no dup2 overwrites a later one's source.
                    check("posix_spawn_file_actions_adddup2", (int) ACTIONS_ADDDUP2.invokeExact(actions, stdin, 0));
                    check("posix_spawn_file_actions_adddup2", (int) ACTIONS_ADDDUP2.invokeExact(actions, stdout, 1));
                    check("posix_spawn_file_actions_adddup2", (int) ACTIONS_ADDDUP2.invokeExact(actions, stderr, 2));
                    int ignored = (int) SIGEMPTYSET.invokeExact(noSignals);
                    ignored = (int) SIGFILLSET.invokeExact(allSignals);
                    check("posix_spawnattr_setsigmask", (int) ATTR_SETSIGMASK.invokeExact(attr, noSignals));
                    check("posix_spawnattr_setsigdefault", (int) ATTR_SETSIGDEFAULT.invokeExact(attr, allSignals));
                    check("posix_spawnattr_setflags", (int) ATTR_SETFLAGS.invokeExact(attr,
                            (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)));
                    MemorySegment environ = ENVIRON.get(ADDRESS, 0);
                    rc = (int) SPAWN.invokeExact(pidOut, arena.allocateFrom(program.toString()), actions, attr,
                            argv, environ);
                    pid = pidOut.get(JAVA_INT, 0);
                } finally {
                    int ignored = (int) ATTR_DESTROY.invokeExact(attr);
                }
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
