package dev.vessel.isolators.vm;

import dev.vessel.core.paths.Trees;
import dev.vessel.core.vm.QemuUser;
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
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A VM task's root filesystem as an unprivileged QEMU shares it with the guest, in QEMU's mapped 9p
 * model: the owner, mode, file type and device number the guest sees are those kept in a file's
 * {@code user.virtfs.*} xattrs, and on the host every file is QEMU's user's own 0600 file or 0700
 * directory. So QEMU reads an image's root-only files without being root, and a guest root makes no
 * setuid program, device node or symlink on the host. The image is brought into that model by the
 * mapped layer, an overlay layer over the rootfs built once: for every entry, its metadata copied up
 * alone (overlayfs {@code metacopy}: the data stays in the image's layers) with the image's owner and
 * mode in the xattrs and QEMU's user as owner; symlinks, devices, fifos and sockets become regular
 * files that say what they stand for (a symlink's target is the file's content, as the model reads it).
 * The tree:
 * <pre>
 * vm-rootfs/&lt;id&gt;/    the view's directory, 0700; QEMU's user may search it (an ACL entry)
 *   layer              the mapped layer: for an image's rootfs, a symlink to the layer its image's views
 *                      share ({@link VmMappedLayers}); else a directory made for this view
 *   upper  work        the guest's writes (an overlay's upper and work directories)
 *   merged             overlay: the layer over the rootfs, upper on top; metacopy, nosuid, nodev: the share
 * </pre>
 * The rootfs and a shared layer are only read: the provisioner's overlay stays as it was made. The view
 * may use {@code metacopy} safely because nothing untrusted can write an overlay's own xattrs into its
 * layers: the guest writes through an unprivileged QEMU, which overlayfs refuses {@code trusted.*}.
 */
final class VmRootfsView {
    private static final int S_IFMT = 0170000;
    private static final int S_IFDIR = 0040000;
    private static final int FILE_MODE = 0600;
    private static final int DIRECTORY_MODE = 0700;
    private static final FileAttribute<Set<PosixFilePermission>> OWNER_ONLY =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    private VmRootfsView() {
    }

    /**
     * Builds the view of {@code rootfs} in {@code dir} (made afresh) and returns the merged directory.
     * {@code sharedLayer}: the rootfs's mapped layer as a {@link VmMappedLayers} keeps it, used as it is;
     * empty to build one for this view alone.
     */
    static Path create(Path dir, Path rootfs, Optional<Path> sharedLayer, QemuUser qemu) throws IOException {
        remove(dir);
        Files.createDirectories(dir.getParent());
        Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path layer;
        if (sharedLayer.isPresent()) {
            // the link tells recovery which shared layer this view's overlay holds
            layer = sharedLayer.get().toAbsolutePath();
            Files.createSymbolicLink(dir.resolve("layer"), layer);
        } else {
            layer = Files.createDirectory(dir.resolve("layer"));
            buildMappedLayer(rootfs, layer, qemu);
        }
        Path upper = Files.createDirectory(dir.resolve("upper"));
        Path work = Files.createDirectory(dir.resolve("work"));
        Path merged = Files.createDirectory(dir.resolve("merged"));
        // the root the guest sees is the upper directory's: QEMU's to write in, the rootfs's as the guest sees it
        map(upper, Files.readAttributes(rootfs, "unix:mode,uid,gid,rdev", LinkOption.NOFOLLOW_LINKS), qemu);
        Mounts.mount("overlay", merged, "overlay", Mounts.MS_NODEV | Mounts.MS_NOSUID,
                "lowerdir=" + layer + ":" + rootfs + ",upperdir=" + upper + ",workdir=" + work + ",metacopy=on");
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

    /** The shared mapped layer the view in {@code dir} uses; empty when it has its own or is not there. */
    static Optional<Path> sharedLayer(Path dir) throws IOException {
        Path layer = dir.resolve("layer");
        return Files.isSymbolicLink(layer) ? Optional.of(Files.readSymbolicLink(layer)) : Optional.empty();
    }

    /**
     * Fills the empty directory {@code layer} with the mapped layer of {@code rootfs}: the upper layer
     * of an overlay on the rootfs through which every entry is mapped. The overlay's work directory and
     * mount point are siblings of {@code layer} for the time of the build.
     */
    static void buildMappedLayer(Path rootfs, Path layer, QemuUser qemu) throws IOException {
        Path work = Files.createDirectory(layer.resolveSibling(layer.getFileName() + ".work"));
        Path mnt = Files.createDirectory(layer.resolveSibling(layer.getFileName() + ".mnt"));
        try {
            Mounts.mount("overlay", mnt, "overlay", Mounts.MS_NODEV | Mounts.MS_NOSUID,
                    "lowerdir=" + rootfs + ",upperdir=" + layer + ",workdir=" + work + ",metacopy=on");
            try {
                Files.walkFileTree(mnt, new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) throws IOException {
                        map(d, Files.readAttributes(d, "unix:mode,uid,gid,rdev", LinkOption.NOFOLLOW_LINKS), qemu);
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                        Map<String, Object> unix = Files.readAttributes(f, "unix:mode,uid,gid,rdev", LinkOption.NOFOLLOW_LINKS);
                        if (!attrs.isRegularFile()) {
                            byte[] content = attrs.isSymbolicLink()
                                    ? Files.readSymbolicLink(f).toString().getBytes(StandardCharsets.UTF_8)
                                    : new byte[0];
                            Files.delete(f);
                            Files.write(Files.createFile(f, OWNER_ONLY), content);
                        }
                        map(f, unix, qemu);
                        return FileVisitResult.CONTINUE;
                    }
                });
            } finally {
                // detached, not unmounted: a process the JVM spawns meanwhile (a CNI plugin of a launch beside
                // this one) holds a copy of the walk's open directory until it execs, and a plain unmount then
                // fails (EBUSY); the overlay goes once that copy does
                Mounts.unmount(mnt, Mounts.MNT_DETACH);
            }
        } finally {
            Trees.delete(work);
            Files.deleteIfExists(mnt);
        }
    }

    /**
     * Puts the entry {@code path} (a regular file or directory now) into the mapped model: what the guest
     * sees ({@code unix} attributes as the image has them) in QEMU's xattrs, QEMU's user as its owner.
     */
    private static void map(Path path, Map<String, Object> unix, QemuUser qemu) throws IOException {
        int mode = (Integer) unix.get("mode");
        Xattrs.set(path, "user.virtfs.uid", le32((Integer) unix.get("uid")));
        Xattrs.set(path, "user.virtfs.gid", le32((Integer) unix.get("gid")));
        Xattrs.set(path, "user.virtfs.mode", le32(mode));
        long rdev = (Long) unix.get("rdev");
        if (rdev != 0) {
            Xattrs.set(path, "user.virtfs.rdev", ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(rdev).array());
        }
        Files.setAttribute(path, "unix:uid", qemu.uid(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(path, "unix:gid", qemu.gid(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(path, "unix:mode", (mode & S_IFMT) == S_IFDIR ? DIRECTORY_MODE : FILE_MODE,
                LinkOption.NOFOLLOW_LINKS);
    }

    /** QEMU keeps each value as a little-endian 32-bit integer (the device number as a 64-bit one). */
    private static byte[] le32(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
    }
}
