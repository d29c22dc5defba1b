package dev.vessel.fetcher;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.FetchUri;
import dev.vessel.provisioner.layer.FileTrees;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Puts a cached artifact into a container's sandbox: a private copy (the task may change it; the
 * blob store must stay as verified, so never a hard link to a blob), or the archive's entries.
 * The sandbox belongs to a container whose task has not started yet, so nothing else writes there.
 */
final class SandboxWriter {
    private static final int FILE_MODE = 0644;
    private static final int EXECUTABLE_MODE = 0755;

    private final ArchiveExtractor extractor = new ArchiveExtractor();

    /**
     * Where {@code u} goes in {@code sandbox}, checked before anything is fetched: the file named by
     * output_file or else by the URI's last path segment; with extract, the directory named by
     * output_file, or else the sandbox itself. Names that would leave the sandbox are refused.
     */
    Path target(FetchUri u, Path sandbox) {
        if (u.getExtract()) {
            if (u.getExecutable()) {
                throw VesselException.invalid(u.getUri(), "executable and extract exclude each other:"
                        + " an archive's entries keep their own modes");
            }
            return u.getOutputFile().isEmpty() ? sandbox : sandbox.resolve(checkedName(u, u.getOutputFile()));
        }
        String name = u.getOutputFile().isEmpty() ? lastSegment(u.getUri()) : u.getOutputFile();
        return sandbox.resolve(checkedName(u, name));
    }

    /** Writes the artifact cached at {@code blob} to {@code target} (from {@link #target}); returns it. */
    Path write(FetchUri u, Path blob, Path target) throws IOException {
        if (u.getExtract()) {
            extractor.extract(blob, directory(u, target), u.getUri());
            return target;
        }
        // A temporary name and a rename: the target appears whole, and a symlink there is replaced, not followed.
        Path temp = target.resolveSibling(".fetch-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
        try {
            Files.copy(blob, temp);
            Files.setAttribute(temp, "unix:mode", u.getExecutable() ? EXECUTABLE_MODE : FILE_MODE);
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temp);
        }
        return target;
    }

    /** The directory an archive is unpacked into: made if missing, refused if a file or a symlink is there. */
    private static Path directory(FetchUri u, Path dir) throws IOException {
        BasicFileAttributes attrs = FileTrees.attributes(dir);
        if (attrs == null) {
            Files.createDirectory(dir);
        } else if (!attrs.isDirectory()) {
            throw VesselException.invalid(u.getUri(), "output_file '" + dir.getFileName()
                    + "' exists in the sandbox and is not a directory");
        }
        return dir;
    }

    private static String lastSegment(String uri) {
        String path = URI.create(uri).getPath();
        return path == null ? "" : path.substring(path.lastIndexOf('/') + 1);
    }

    private static String checkedName(FetchUri u, String name) {
        if (name.isEmpty()) {
            throw VesselException.invalid(u.getUri(), "'" + u.getUri()
                    + "' has no file name in its path; set output_file");
        }
        if (name.equals(".") || name.equals("..") || name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
            throw VesselException.invalid(u.getUri(), "'" + name
                    + "' must be a plain file name inside the sandbox (output_file, or the URI's last path segment)");
        }
        return name;
    }
}
