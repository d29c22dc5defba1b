package dev.vessel.isolators.vm;

import dev.vessel.core.paths.Trees;
import dev.vessel.linux.Mounts;
import dev.vessel.linux.Xattrs;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A VM task's root filesystem as QEMU shares it with the guest, in QEMU's mapped 9p model: what the
 * guest creates is a plain 0600 file or 0700 directory on the host, the guest's owner, mode and file
 * type kept in {@code user.virtfs.*} xattrs, so a guest root makes no setuid program, device node or
 * symlink on the host. The mapped model reads a symlink from a regular file's content, so the image's
 * own symlinks (which it cannot read) are shadowed by such files, the links layer. The tree:
 * <pre>
 * vm-rootfs/&lt;id&gt;/    the view's directory
 *   links              the links layer: a regular file for each symlink of the rootfs, its target as
 *                      content, its mode (S_IFLNK) in user.virtfs.mode, the link's owner; parents as the
 *                      rootfs's (mode, owner). For an image's rootfs, a symlink to the layer its image's
 *                      views share ({@link VmLinksCache}); else a directory made for this view
 *   upper  work        the guest's writes (an overlay's upper and work directories)
 *   merged             overlay: links over the rootfs, upper on top; nosuid, nodev: the share
 * </pre>
 * The rootfs and a shared links layer are only read: the provisioner's overlay stays as it was made.
 */
final class VmRootfsView {
    private static final int S_IFMT = 0170000;
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    private VmRootfsView() {
    }

    /**
     * Builds the view of {@code rootfs} in {@code dir} (made afresh) and returns the merged directory.
     * {@code sharedLinks}: the rootfs's links layer as a {@link VmLinksCache} keeps it, used as it is;
     * empty to build one for this view alone.
     */
    static Path create(Path dir, Path rootfs, Optional<Path> sharedLinks) throws IOException {
        remove(dir);
        Files.createDirectories(dir.getParent());
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path links;
        if (sharedLinks.isPresent()) {
            // the link tells recovery which shared layer this view's overlay holds
            links = sharedLinks.get().toAbsolutePath();
            Files.createSymbolicLink(dir.resolve("links"), links);
        } else {
            links = Files.createDirectory(dir.resolve("links"));
            shadowSymlinks(rootfs, links);
        }
        Path upper = Files.createDirectory(dir.resolve("upper"));
        Path work = Files.createDirectory(dir.resolve("work"));
        Path merged = Files.createDirectory(dir.resolve("merged"));
        // Directories the guest makes at the top are QEMU's 0700 ones; the root itself shows as the rootfs's.
        copyOwnerAndMode(rootfs, upper);
        Mounts.mount("overlay", merged, "overlay", Mounts.MS_NODEV | Mounts.MS_NOSUID,
                "lowerdir=" + links + ":" + rootfs + ",upperdir=" + upper + ",workdir=" + work);
        return merged;
    }

    /** Unmounts the view and removes it; nothing if it is not there. Never follows a link out of it. */
    static void remove(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Mounts.unmountTree(dir);
        if (Mounts.mountPoints().stream().anyMatch(p -> p.startsWith(dir.toAbsolutePath().normalize()))) {
            throw new IOException(dir + " is still mounted: not removing what is below it");
        }
        Trees.delete(dir);
    }

    /** The shared links layer the view in {@code dir} uses; empty when it has its own or is not there. */
    static Optional<Path> sharedLinks(Path dir) throws IOException {
        Path links = dir.resolve("links");
        return Files.isSymbolicLink(links) ? Optional.of(Files.readSymbolicLink(links)) : Optional.empty();
    }

    /** Fills the empty directory {@code links} with the links layer of {@code rootfs}. */
    static void shadowSymlinks(Path rootfs, Path links) throws IOException {
        Set<Path> made = new HashSet<>(); // the directories of links/ made so far
        Files.walkFileTree(rootfs, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (attrs.isSymbolicLink()) {
                    shadow(rootfs, links, rootfs.relativize(file), made);
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** The file QEMU's mapped model reads as the symlink {@code rel} of the rootfs. */
    private static void shadow(Path rootfs, Path links, Path rel, Set<Path> made) throws IOException {
        Path parent = rel.getParent();
        for (int i = 1; parent != null && i <= parent.getNameCount(); i++) {
            Path sub = parent.subpath(0, i);
            if (made.add(sub)) {
                Files.createDirectory(links.resolve(sub));
                copyOwnerAndMode(rootfs.resolve(sub), links.resolve(sub));
            }
        }
        Path link = rootfs.resolve(rel);
        Path file = links.resolve(rel);
        Map<String, Object> attrs = Files.readAttributes(link, "unix:mode,uid,gid", LinkOption.NOFOLLOW_LINKS);
        Files.createFile(file, OWNER_ONLY);
        Files.write(file, Files.readSymbolicLink(link).toString().getBytes(StandardCharsets.UTF_8));
        Xattrs.set(file, "user.virtfs.mode", le32((Integer) attrs.get("mode")));
        // QEMU takes the owner from the file itself when no user.virtfs.uid/gid says otherwise: a
        // chown only for links not root's (one journaled xattr write per link is what a view costs)
        if ((Integer) attrs.get("uid") != 0 || (Integer) attrs.get("gid") != 0) {
            Files.setAttribute(file, "unix:uid", attrs.get("uid"), LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(file, "unix:gid", attrs.get("gid"), LinkOption.NOFOLLOW_LINKS);
        }
    }

    private static void copyOwnerAndMode(Path from, Path to) throws IOException {
        Map<String, Object> attrs = Files.readAttributes(from, "unix:mode,uid,gid", LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(to, "unix:uid", attrs.get("uid"), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(to, "unix:gid", attrs.get("gid"), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(to, "unix:mode", (Integer) attrs.get("mode") & ~S_IFMT, LinkOption.NOFOLLOW_LINKS);
    }

    /** QEMU keeps each value as a little-endian 32-bit integer. */
    private static byte[] le32(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
    }
}
