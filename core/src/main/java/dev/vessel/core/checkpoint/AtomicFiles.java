package dev.vessel.core.checkpoint;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Crash-safe file replacement: a reader sees the old content or the new one, never a mix, even if
 * the writing process dies mid-write ({@link #replace}) or the whole machine does ({@link #write}).
 * Files are written mode 0600, executables ({@link #installExecutable}) 0755.
 */
public final class AtomicFiles {
    /** Temporary files start with this, so a reader or a sweep can tell them from real ones. */
    static final String TEMP_PREFIX = ".tmp-";
    /** Records: what the daemon was told, a container's environment (its secrets) with it. */
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));
    /** Set outright on the written file, not as a create attribute: the process umask would trim that. */
    private static final Set<PosixFilePermission> EXECUTABLE = PosixFilePermissions.fromString("rwxr-xr-x");

    private AtomicFiles() {
    }

    /**
     * Writes {@code content} to {@code target} durably: a temporary file in the same directory, fsync,
     * rename over the target, then fsync of the directory so the rename itself survives a power cut.
     */
    public static void write(Path target, byte[] content) throws IOException {
        replace(target, content, true, null);
    }

    /**
     * Writes {@code content} to {@code target} through a temporary file and a rename, without fsync: a
     * reader sees the old or the new content whatever happens to the writing process, but a crash of
     * the machine may leave either damaged. Only for files a reboot makes meaningless (the run dir).
     */
    public static void replace(Path target, byte[] content) throws IOException {
        replace(target, content, false, null);
    }

    /** {@code mode}: set on the file before the rename; {@code null} leaves it owner-only (0600). */
    private static void replace(Path target, byte[] content, boolean durable, Set<PosixFilePermission> mode)
            throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir);
        }
        Path temp = dir.resolve(TEMP_PREFIX + target.getFileName() + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            try (FileChannel ch = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                    OWNER_ONLY)) {
                ByteBuffer buf = ByteBuffer.wrap(content);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                if (durable) {
                    ch.force(true);
                }
            }
            if (mode != null) {
                Files.setPosixFilePermissions(temp, mode);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temp);
            throw e;
        }
        if (durable) {
            syncDirectory(dir);
        }
    }

    /**
     * Installs {@code content} as the executable {@code target} (mode 0755) unless {@code target} is exactly that
     * already, content and mode, in which case it is left untouched (its inode and change time stay). Written aside
     * and renamed: a program running from the old file keeps its inode, the next start gets a whole file. Returns
     * whether it wrote.
     */
    public static boolean installExecutable(Path target, byte[] content) throws IOException {
        if (Files.isRegularFile(target) && Files.getPosixFilePermissions(target).equals(EXECUTABLE)
                && Arrays.equals(Files.readAllBytes(target), content)) {
            return false;
        }
        replace(target, content, false, EXECUTABLE);
        return true;
    }

    /** Makes entries created, renamed or removed in {@code dir} durable. */
    public static void syncDirectory(Path dir) throws IOException {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    /** Removes temporary files a crash left behind in {@code dir}; returns how many. */
    public static int removeStaleTemporaries(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        int removed = 0;
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, TEMP_PREFIX + "*")) {
            for (Path entry : entries) {
                if (Files.deleteIfExists(entry)) {
                    removed++;
                }
            }
        }
        return removed;
    }
}
