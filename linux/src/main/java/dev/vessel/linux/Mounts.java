package dev.vessel.linux;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** mount(2) and umount2(2) through the FFM API, and the mount table as the kernel reports it. */
public final class Mounts {
    public static final long MS_RDONLY = 1;
    public static final long MS_NOSUID = 2;
    public static final long MS_NODEV = 4;
    public static final long MS_NOEXEC = 8;
    public static final long MS_REMOUNT = 32;
    public static final long MS_BIND = 4096;
    public static final long MS_REC = 16384;
    /** Propagation: mounts made below a shared mount also appear in its copies in other namespaces. */
    public static final long MS_SHARED = 1L << 20;
    public static final int MNT_DETACH = 2;
    /** The kernel copies at most one page of mount data, NUL included. */
    public static final int MAX_DATA_BYTES = 4095;

    private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");
    /** Set once mount(2)'s handle is made (see {@link #linked}). */
    private static volatile boolean linked;

    /** mount(2)'s handle, made at the first mount rather than with the class. */
    private static final class Mount {
        static final MethodHandle HANDLE = ErrnoCalls.downcall("mount", FunctionDescriptor.of(ValueLayout.JAVA_INT,
                ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                ValueLayout.ADDRESS));

        static {
            linked = true;
        }
    }

    /**
     * umount2's handle, made on the first unmount rather than with the class: a guest mounts its task's rootfs
     * before the task starts and unmounts only afterwards, and a downcall handle costs its interpreted JVM
     * about 0.1 s under TCG.
     */
    private static final class Umount2 {
        static final MethodHandle HANDLE = ErrnoCalls.downcall("umount2",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    }

    private Mounts() {
    }

    /**
     * Whether mount(2)'s downcall is linked in this JVM. A JVM's first downcall starts the FFM linker (in a guest's
     * interpreted JVM under TCG about half a second): a caller with another way to mount may rather not pay that on
     * its path.
     */
    public static boolean linked() {
        return linked;
    }

    /**
     * Mounts {@code source} (or a filesystem of {@code fsType}) on {@code target}; a failure reads
     * e.g. "mount overlay on /x: Invalid argument". Null strings are passed as NULL.
     */
    public static void mount(String source, Path target, String fsType, long flags, String data)
            throws ErrnoException {
        int rc;
        int errno;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            rc = (int) Mount.HANDLE.invokeExact(state, ErrnoCalls.cString(arena, source), arena.allocateFrom(target.toString()),
                    ErrnoCalls.cString(arena, fsType), flags, ErrnoCalls.cString(arena, data));
            errno = ErrnoCalls.errno(state);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        if (rc != 0) {
            String what = (flags & MS_REMOUNT) != 0 ? "remount " + target
                    : "mount " + (source != null ? source : fsType) + " on " + target;
            throw new ErrnoException(what, errno);
        }
    }

    /** umount2(2): {@code flags} is 0 or {@link #MNT_DETACH}. */
    public static void unmount(Path target, int flags) throws ErrnoException {
        int rc;
        int errno;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            rc = (int) Umount2.HANDLE.invokeExact(state, arena.allocateFrom(target.toString()), flags);
            errno = ErrnoCalls.errno(state);
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        }
        if (rc != 0) {
            throw new ErrnoException("umount " + target, errno);
        }
    }

    /**
     * Lazily unmounts {@code root} and every mount below it, deepest first; what is not mounted is
     * skipped. Afterwards nothing at or below {@code root} is a mount point.
     */
    public static void unmountTree(Path root) throws IOException {
        Path normal = root.toAbsolutePath().normalize();
        List<Path> points = mountPoints();
        for (int i = points.size() - 1; i >= 0; i--) {
            Path point = points.get(i);
            if (point.startsWith(normal)) {
                try {
                    unmount(point, MNT_DETACH);
                } catch (ErrnoException e) {
                    // EINVAL: already gone with a parent detached before it
                    if (e.errno() != ErrnoException.EINVAL && e.errno() != ErrnoException.ENOENT) {
                        throw e;
                    }
                }
            }
        }
    }

    /** Mount points of this process's mount namespace, in mount order (field 5 of mountinfo). */
    public static List<Path> mountPoints() throws IOException {
        List<Path> points = new ArrayList<>();
        for (String line : Files.readAllLines(MOUNTINFO)) {
            String[] fields = line.split(" ");
            if (fields.length > 4) {
                points.add(Path.of(unescape(fields[4])));
            }
        }
        return points;
    }

    public static boolean isMountPoint(Path path) throws IOException {
        return mountPoints().contains(path.toAbsolutePath().normalize());
    }

    /** mountinfo writes space, tab, newline and backslash as a backslash and three octal digits. */
    private static String unescape(String field) {
        StringBuilder out = new StringBuilder(field.length());
        for (int i = 0; i < field.length(); i++) {
            char c = field.charAt(i);
            if (c == '\\' && isOctal(field, i + 1)) {
                out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static boolean isOctal(String s, int from) {
        for (int i = from; i < from + 3; i++) {
            if (i >= s.length() || s.charAt(i) < '0' || s.charAt(i) > '7') {
                return false;
            }
        }
        return true;
    }
}
