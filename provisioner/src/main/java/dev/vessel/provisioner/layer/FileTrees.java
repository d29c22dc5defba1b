package dev.vessel.provisioner.layer;

import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashSet;
import java.util.Set;

/** Whole-tree operations on layer and rootfs directories; none of them follows a symlink. */
public final class FileTrees {
    private FileTrees() {
    }

    /** The path's own attributes (a symlink's, not its target's), or null when nothing is there. */
    public static BasicFileAttributes attributes(Path path) throws IOException {
        try {
            return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /**
     * Makes {@code dir} (and its parents) exist with mode 0700, tightening it if it exists: what is
     * below (setuid programs of images, their device-free trees) is then out of reach of host users.
     */
    public static void createPrivateDirectory(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.setAttribute(dir, "unix:mode", 0700, LinkOption.NOFOLLOW_LINKS);
    }

    /** Bytes of the regular files in the tree, each inode counted once however many links it has. */
    public static long size(Path root) throws IOException {
        Set<Object> seen = new HashSet<>();
        long[] total = {0};
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile() && seen.add(attrs.fileKey())) {
                    total[0] += attrs.size();
                }
                return FileVisitResult.CONTINUE;
            }
        });
        return total[0];
    }

    /**
     * Like {@link #size}, but staying on the root's file system: a mount below it (an overlay's merged view, a
     * bind of a layer or a volume) is someone else's bytes. 0 when the root does not exist.
     */
    public static long sizeOnItsDevice(Path root) throws IOException {
        Object device;
        try {
            if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
                return Files.isRegularFile(root, LinkOption.NOFOLLOW_LINKS) ? Files.size(root) : 0;
            }
            device = Files.getAttribute(root, "unix:dev", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return 0; // removed meanwhile
        }
        Set<Object> seen = new HashSet<>();
        long[] total = {0};
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                try {
                    return device.equals(Files.getAttribute(dir, "unix:dev", LinkOption.NOFOLLOW_LINKS))
                            ? FileVisitResult.CONTINUE : FileVisitResult.SKIP_SUBTREE;
                } catch (NoSuchFileException e) {
                    return FileVisitResult.SKIP_SUBTREE;
                }
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) {
                return FileVisitResult.CONTINUE; // a directory removed while we walked it takes nothing now
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                if (attrs.isRegularFile() && seen.add(attrs.fileKey())) {
                    total[0] += attrs.size();
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
                return FileVisitResult.CONTINUE; // removed while we walked: it takes nothing now
            }
        });
        return total[0];
    }
}
