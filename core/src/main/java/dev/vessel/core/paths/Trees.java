package dev.vessel.core.paths;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Making the runtime's directories, and removing what it made on disk without ever following a link out of it. */
public final class Trees {
    private Trees() {
    }

    /**
     * {@link Files#createDirectories} without its exceptions where nothing is wrong: the JDK's throws and catches
     * two for a directory that exists already and two for each one it makes, and each fills in a stack trace,
     * which an interpreted JVM (the guest agent's) pays for in milliseconds on every launch. This one looks
     * before it creates; a directory made by someone else in between is fine, as there.
     */
    public static Path createDirectories(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return dir;
        }
        Path parent = dir.toAbsolutePath().getParent();
        if (parent != null) {
            createDirectories(parent);
        }
        try {
            Files.createDirectory(dir);
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir)) {
                throw e;
            }
        }
        return dir;
    }

    /**
     * Deletes a file, a symlink (not its target) or a whole directory tree, its links as links; nothing
     * there is fine. A mount below it is not crossed into: its removal fails instead.
     */
    public static void delete(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(path, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException failure) throws IOException {
                if (failure != null) {
                    throw failure;
                }
                Files.delete(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
