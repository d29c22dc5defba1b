package dev.vessel.provisioner.rootfs;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.Trees;
import dev.vessel.linux.DeviceNodes;
import dev.vessel.linux.FileTimes;
import dev.vessel.linux.Mounts;
import dev.vessel.provisioner.layer.FileTrees;
import dev.vessel.provisioner.layer.OverlayMarkers;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The rootfs as a plain copy of the layers, bottom to top, for kernels or filesystems without
 * overlayfs: each layer's whiteouts delete what lower layers put there, an opaque directory first
 * loses its lower content. Costs a full copy per container; the copy is the container's to write.
 */
public final class CopyBackend implements RootfsBackend {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;
    private static final int TYPE_MASK = 0170000;
    private static final int BLOCK_DEVICE = 0060000;
    private static final int FIFO = 0010000;

    @Override
    public String name() {
        return "copy";
    }

    @Override
    public Path assemble(String containerId, List<Path> layerDiffsBottomToTop, Path containerDir) {
        String object = "container " + containerId;
        Path rootfs = RootfsPaths.rootfs(containerDir);
        if (Files.exists(rootfs, NOFOLLOW)) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, object, "a rootfs already exists at " + rootfs);
        }
        try {
            Files.createDirectories(rootfs);
            for (Path layer : layerDiffsBottomToTop) {
                Files.walkFileTree(layer, new LayerCopier(layer, rootfs));
            }
            return rootfs;
        } catch (IOException | RuntimeException e) {
            try {
                Trees.delete(rootfs);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw new VesselException(ErrorCode.INTERNAL, object, "cannot copy the layers into " + rootfs + ": "
                    + e.getMessage(), e);
        }
    }

    @Override
    public void remove(String containerId, Path containerDir) {
        Path rootfs = RootfsPaths.rootfs(containerDir);
        try {
            // Never delete through a mount a launcher may have left inside the tree.
            Mounts.unmountTree(rootfs);
            Trees.delete(rootfs);
        } catch (IOException e) {
            throw VesselException.internal("container " + containerId, "cannot remove the copied rootfs "
                    + rootfs + ": " + e.getMessage(), e);
        }
    }

    /**
     * Copies one layer over the tree built so far. The walk visits a directory before its content
     * and makes the target a real directory first (replacing any symlink a lower layer had there),
     * so nothing is ever written through a symlink.
     */
    private static final class LayerCopier extends SimpleFileVisitor<Path> {
        private final Path layer;
        private final Path rootfs;
        /** Hard-linked files of this layer stay hard-linked: inode → its first copy. */
        private final Map<Object, Path> copiedInodes = new HashMap<>();

        LayerCopier(Path layer, Path rootfs) {
            this.layer = layer;
            this.rootfs = rootfs;
        }

        @Override
        public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
            Path target = rootfs.resolve(layer.relativize(dir).toString());
            if (!target.equals(rootfs)) {
                BasicFileAttributes existing = FileTrees.attributes(target);
                if (existing != null && !existing.isDirectory()) {
                    Trees.delete(target);
                    existing = null;
                }
                if (existing == null) {
                    Files.createDirectory(target);
                }
                copyOwnerAndMode(dir, target);
            }
            if (OverlayMarkers.isOpaque(dir)) {
                try (DirectoryStream<Path> lower = Files.newDirectoryStream(target)) {
                    for (Path child : lower) {
                        Trees.delete(child);
                    }
                }
            }
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
            Path target = rootfs.resolve(layer.relativize(file).toString());
            Trees.delete(target);
            if (attrs.isOther() && OverlayMarkers.isWhiteout(file)) {
                return FileVisitResult.CONTINUE;
            }
            if (attrs.isSymbolicLink()) {
                Files.createSymbolicLink(target, Files.readSymbolicLink(file));
                copyOwner(file, target);
            } else if (attrs.isRegularFile()) {
                Path first = copiedInodes.putIfAbsent(attrs.fileKey(), target);
                if (first != null) {
                    Files.createLink(target, first);
                    return FileVisitResult.CONTINUE;
                }
                Files.copy(file, target, NOFOLLOW);
                copyOwnerAndMode(file, target);
            } else {
                int mode = (int) Files.getAttribute(file, "unix:mode", NOFOLLOW);
                long rdev = (long) Files.getAttribute(file, "unix:rdev", NOFOLLOW);
                DeviceNodes.Kind kind = switch (mode & TYPE_MASK) {
                    case BLOCK_DEVICE -> DeviceNodes.Kind.BLOCK;
                    case FIFO -> DeviceNodes.Kind.FIFO;
                    default -> DeviceNodes.Kind.CHARACTER;
                };
                DeviceNodes.create(target, kind, 0, DeviceNodes.major(rdev), DeviceNodes.minor(rdev));
                copyOwnerAndMode(file, target);
            }
            setMtime(target, attrs);
            return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException failure) throws IOException {
            if (failure != null) {
                throw failure;
            }
            Path target = rootfs.resolve(layer.relativize(dir).toString());
            setMtime(target, Files.readAttributes(dir, BasicFileAttributes.class, NOFOLLOW));
            return FileVisitResult.CONTINUE;
        }

        private static void copyOwner(Path from, Path to) throws IOException {
            Files.setAttribute(to, "unix:uid", Files.getAttribute(from, "unix:uid", NOFOLLOW), NOFOLLOW);
            Files.setAttribute(to, "unix:gid", Files.getAttribute(from, "unix:gid", NOFOLLOW), NOFOLLOW);
        }

        /** Owner before mode: chown clears setuid/setgid. Never a symlink: chmod may follow (see LayerUnpacker). */
        private static void copyOwnerAndMode(Path from, Path to) throws IOException {
            copyOwner(from, to);
            int mode = (int) Files.getAttribute(from, "unix:mode", NOFOLLOW);
            Files.setAttribute(to, "unix:mode", mode & 07777);
        }

        private static void setMtime(Path target, BasicFileAttributes source) throws IOException {
            FileTimes.setMtime(target, source.lastModifiedTime());
        }
    }
}
