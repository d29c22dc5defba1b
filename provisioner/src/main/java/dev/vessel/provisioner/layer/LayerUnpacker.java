package dev.vessel.provisioner.layer;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.linux.DeviceNodes;
import dev.vessel.linux.FileTimes;
import dev.vessel.provisioner.limits.ProvisionerLimits;
import dev.vessel.provisioner.store.Digest;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;

/**
 * Unpacks one OCI/Docker layer into a directory as an overlayfs-ready diff: files, directories,
 * symlinks, hard links and fifos with their modes, owners and mtimes (setuid bits included: the
 * container's programs need them, and {@link LayerStore} keeps the tree out of host users' reach);
 * OCI whiteouts become overlay whiteouts (see {@link OverlayMarkers}), made with mknod (this needs
 * root). A character or block device in the layer is never created on the host: it becomes a
 * whiteout, so its path is empty in the container, whose /dev the launcher provides.
 * Extended attributes in the tar (PAX SCHILY.xattr) are not applied.
 *
 * <p>A layer is refused once it has more entries or writes more bytes of file content than its
 * {@link ProvisionerLimits} allow, so a small compressed blob cannot fill the node's disk.
 *
 * <p>Both digests are checked while the bytes stream by: the blob's against the layer digest and
 * the uncompressed tar's against the diff_id, when one is expected. The caller owns {@code dir}
 * and must discard it when this throws.
 */
public final class LayerUnpacker {
    private static final String WHITEOUT_PREFIX = ".wh.";
    private static final String OPAQUE_MARKER = ".wh..wh..opq";
    private static final int BUFFER = 64 * 1024;
    private static final System.Logger LOG = System.getLogger(LayerUnpacker.class.getName());

    private final ProvisionerLimits limits;

    public LayerUnpacker() {
        this(ProvisionerLimits.DEFAULTS);
    }

    public LayerUnpacker(ProvisionerLimits limits) {
        this.limits = limits;
    }

    /** Returns the diff_id computed from the layer's uncompressed tar. */
    public String unpack(LayerDescriptor layer, InputStream blob, Path dir) {
        Digest expectedBlob = Digest.parse("layer digest", layer.digest());
        MessageDigest blobDigest = expectedBlob.newHasher();
        String diffAlgorithm = layer.diffId() == null ? "sha256" : Digest.parse("diff_id", layer.diffId()).algorithm();
        MessageDigest tarDigest = Digest.newHasher(diffAlgorithm);

        LayerTree tree = new LayerTree(dir, "layer " + layer.digest());
        try {
            // Buffers sit above the digests: a decompressor's mark/reset must not feed bytes in twice.
            InputStream raw = new BufferedInputStream(new DigestInputStream(blob, blobDigest), BUFFER);
            InputStream tarBytes = new BufferedInputStream(new DigestInputStream(
                    LayerCompression.fromMediaType(layer.mediaType()).decompress(raw), tarDigest), BUFFER);
            unpackEntries(new TarArchiveInputStream(tarBytes), tree, new Budget("layer " + layer.digest()));
            // Bytes after the tar's end-of-archive blocks are part of both digests too.
            tarBytes.transferTo(OutputStream.nullOutputStream());
            raw.transferTo(OutputStream.nullOutputStream());
        } catch (VesselException e) {
            throw e;
        } catch (IOException e) {
            throw new VesselException(ErrorCode.INTERNAL, "layer " + layer.digest(),
                    "cannot unpack into " + dir + ": " + e.getMessage(), e);
        }

        String blobActual = expectedBlob.finish(blobDigest).toString();
        if (!blobActual.equals(layer.digest())) {
            throw new VesselException(ErrorCode.DATA_LOSS, "layer " + layer.digest(),
                    "the blob's content has digest " + blobActual + "; the blob is corrupt or not this layer");
        }
        String diffId = Digest.of(diffAlgorithm, tarDigest).toString();
        if (layer.diffId() != null && !diffId.equals(layer.diffId())) {
            throw new VesselException(ErrorCode.DATA_LOSS, "layer " + layer.digest(),
                    "the uncompressed tar has diff_id " + diffId + " but the image config expects " + layer.diffId());
        }
        return diffId;
    }

    private void unpackEntries(TarArchiveInputStream tar, LayerTree tree, Budget budget) throws IOException {
        // Directory mtimes change as their children are written: set them last, deepest first.
        List<Path> dirs = new ArrayList<>();
        List<FileTime> dirTimes = new ArrayList<>();
        for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
            budget.entry();
            String name = entry.getName();
            String rel = tree.relative(name, name, "path");
            if (rel.isEmpty()) {
                continue; // the layer's root: its owner and mode are the runtime's, not the image's
            }
            String base = LayerTree.fileName(rel);
            if (base.startsWith(WHITEOUT_PREFIX)) {
                whiteout(tree, name, rel, base);
                continue;
            }
            if (entry.isDirectory()) {
                Path dir = tree.prepare(name, rel, true);
                if (FileTrees.attributes(dir) == null) {
                    Files.createDirectory(dir);
                }
                applyOwnerAndMode(dir, entry);
                dirs.add(dir);
                dirTimes.add(entry.getLastModifiedTime());
            } else if (entry.isSymbolicLink()) {
                if (entry.getLinkName().isEmpty()) {
                    throw tree.hostile(name, "symlink with an empty target");
                }
                Path link = tree.prepare(name, rel, false);
                Files.createSymbolicLink(link, Path.of(entry.getLinkName()));
                setOwner(link, entry);
                setMtime(link, entry.getLastModifiedTime());
            } else if (entry.isLink()) {
                Path target = tree.existing(name, tree.relative(name, entry.getLinkName(), "hard link target"));
                Files.createLink(tree.prepare(name, rel, false), target);
            } else if (entry.isCharacterDevice() || entry.isBlockDevice()) {
                // A usable device node on the host filesystem would open the host's device to whoever reaches it.
                if (entry.getDevMajor() != 0 || entry.getDevMinor() != 0) {
                    LOG.log(System.Logger.Level.INFO, "{0}: device node ''{1}'' ({2}:{3}) left out of the unpacked layer",
                            budget.subject, name, entry.getDevMajor(), entry.getDevMinor());
                }
                OverlayMarkers.createWhiteout(tree.prepare(name, rel, false));
            } else if (entry.isFIFO()) {
                Path node = tree.prepare(name, rel, false);
                DeviceNodes.create(node, DeviceNodes.Kind.FIFO, 0, 0, 0);
                applyOwnerAndMode(node, entry);
                setMtime(node, entry.getLastModifiedTime());
            } else if (entry.isFile()) {
                Path file = tree.prepare(name, rel, false);
                try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                    budget.copy(tar, out);
                }
                applyOwnerAndMode(file, entry);
                setMtime(file, entry.getLastModifiedTime());
            } else {
                throw tree.hostile(name, "unsupported tar entry type '" + (char) entry.getLinkFlag() + "'");
            }
        }
        for (int i = dirs.size() - 1; i >= 0; i--) {
            BasicFileAttributes attrs = FileTrees.attributes(dirs.get(i));
            if (attrs != null && attrs.isDirectory()) { // a later entry may have replaced it
                setMtime(dirs.get(i), dirTimes.get(i));
            }
        }
    }

    /** What one layer may still take: entries and bytes of file content, each refused past its cap. */
    private final class Budget {
        private final String subject;
        private long entries;
        private long bytes;

        Budget(String subject) {
            this.subject = subject;
        }

        void entry() {
            if (++entries > limits.maxLayerEntries()) {
                throw refused("more than " + limits.maxLayerEntries() + " entries");
            }
        }

        /** Copies a file's content, counting the bytes written (a sparse entry's holes too). */
        void copy(InputStream in, OutputStream out) throws IOException {
            byte[] buf = new byte[BUFFER];
            for (int n; (n = in.read(buf)) > 0; ) {
                bytes += n;
                if (bytes > limits.maxLayerUnpackedBytes()) {
                    throw refused("more than " + limits.maxLayerUnpackedBytes() + " bytes of file content unpacked");
                }
                out.write(buf, 0, n);
            }
        }

        private VesselException refused(String what) {
            return VesselException.invalid(subject, "the layer has " + what
                    + ", past the provisioner's limit; refusing it");
        }
    }

    /** ".wh..wh..opq" makes its directory opaque; ".wh.NAME" deletes NAME from the layers below. */
    private static void whiteout(LayerTree tree, String name, String rel, String base) throws IOException {
        int slash = rel.lastIndexOf('/');
        String parent = slash < 0 ? "" : rel.substring(0, slash);
        if (base.equals(OPAQUE_MARKER)) {
            OverlayMarkers.markOpaque(tree.directory(name, parent));
            return;
        }
        if (base.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
            return; // AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs): no meaning in a layer diff
        }
        String hidden = base.substring(WHITEOUT_PREFIX.length());
        if (hidden.isEmpty() || hidden.equals(".") || hidden.equals("..")) {
            throw tree.hostile(name, "whiteout of '" + hidden + "'");
        }
        OverlayMarkers.createWhiteout(tree.prepare(name, parent.isEmpty() ? hidden : parent + "/" + hidden, false));
    }

    /**
     * Owner before mode: chown clears the setuid and setgid bits. The mode follows links because the
     * JDK's no-follow chmod opens the file, which blocks on a fifo; the path is never a symlink here.
     */
    private static void applyOwnerAndMode(Path path, TarArchiveEntry entry) throws IOException {
        setOwner(path, entry);
        Files.setAttribute(path, "unix:mode", entry.getMode() & 07777);
    }

    private static void setOwner(Path path, TarArchiveEntry entry) throws IOException {
        Files.setAttribute(path, "unix:uid", (int) entry.getLongUserId(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(path, "unix:gid", (int) entry.getLongGroupId(), LinkOption.NOFOLLOW_LINKS);
    }

    private static void setMtime(Path path, FileTime mtime) throws IOException {
        FileTimes.setMtime(path, mtime);
    }
}
