package dev.vessel.provisioner.layer;

import com.github.luben.zstd.Zstd;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HexFormat;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/** Builds layer tars in tests, entry by entry, including the hostile ones a real tool would not write. */
public final class TarBuilder {
    public static final FileTime MTIME = FileTime.from(Instant.parse("2021-03-04T05:06:07Z"));

    /** A built layer: its blob and the descriptor naming it (digest, media type, diff_id). */
    public record Layer(LayerDescriptor descriptor, byte[] blob) {
    }

    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes);

    public TarBuilder() {
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
    }

    public TarBuilder dir(String name, int mode, int uid, int gid) {
        return add(entry(name.endsWith("/") ? name : name + "/", TarConstants.LF_DIR, mode, uid, gid), null);
    }

    public TarBuilder dir(String name) {
        return dir(name, 0755, 0, 0);
    }

    public TarBuilder file(String name, String content, int mode, int uid, int gid) {
        return add(entry(name, TarConstants.LF_NORMAL, mode, uid, gid), content.getBytes(StandardCharsets.UTF_8));
    }

    public TarBuilder file(String name, String content) {
        return file(name, content, 0644, 0, 0);
    }

    public TarBuilder symlink(String name, String target, int uid, int gid) {
        TarArchiveEntry e = entry(name, TarConstants.LF_SYMLINK, 0777, uid, gid);
        e.setLinkName(target);
        return add(e, null);
    }

    public TarBuilder symlink(String name, String target) {
        return symlink(name, target, 0, 0);
    }

    public TarBuilder hardlink(String name, String target) {
        TarArchiveEntry e = entry(name, TarConstants.LF_LINK, 0644, 0, 0);
        e.setLinkName(target);
        return add(e, null);
    }

    public TarBuilder fifo(String name, int mode) {
        return add(entry(name, TarConstants.LF_FIFO, mode, 0, 0), null);
    }

    /** A character ({@code block} false) or block device node. */
    public TarBuilder device(String name, boolean block, int major, int minor) {
        TarArchiveEntry e = entry(name, block ? TarConstants.LF_BLK : TarConstants.LF_CHR, 0660, 0, 0);
        e.setDevMajor(major);
        e.setDevMinor(minor);
        return add(e, null);
    }

    /** The OCI whiteout of {@code path}: an empty ".wh.NAME" next to it. */
    public TarBuilder whiteout(String path) {
        int slash = path.lastIndexOf('/');
        return file(path.substring(0, slash + 1) + ".wh." + path.substring(slash + 1), "");
    }

    /** The OCI opaque marker: everything below {@code dir} in lower layers is hidden. */
    public TarBuilder opaque(String dir) {
        return file(dir + "/.wh..wh..opq", "");
    }

    public byte[] tar() {
        try {
            tar.finish();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public Layer gzip() {
        byte[] tarBytes = tar();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
            gz.write(tarBytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return layer(out.toByteArray(), "application/vnd.oci.image.layer.v1.tar+gzip", tarBytes);
    }

    public Layer zstd() {
        byte[] tarBytes = tar();
        return layer(Zstd.compress(tarBytes), "application/vnd.oci.image.layer.v1.tar+zstd", tarBytes);
    }

    public Layer plain() {
        byte[] tarBytes = tar();
        return layer(tarBytes, "application/vnd.oci.image.layer.v1.tar", tarBytes);
    }

    public static String sha256(byte[] data) {
        try {
            return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static Layer layer(byte[] blob, String mediaType, byte[] tarBytes) {
        return new Layer(new LayerDescriptor(sha256(blob), mediaType, sha256(tarBytes)), blob);
    }

    private static TarArchiveEntry entry(String name, byte type, int mode, int uid, int gid) {
        // preserveAbsolutePath: hostile names must reach the archive exactly as written
        TarArchiveEntry e = new TarArchiveEntry(name, type, true);
        e.setMode(mode);
        e.setUserId(uid);
        e.setGroupId(gid);
        e.setLastModifiedTime(MTIME);
        return e;
    }

    private TarBuilder add(TarArchiveEntry e, byte[] content) {
        try {
            if (content != null) {
                e.setSize(content.length);
            }
            tar.putArchiveEntry(e);
            if (content != null) {
                tar.write(content);
            }
            tar.closeArchiveEntry();
            return this;
        } catch (IOException ex) {
            throw new UncheckedIOException(ex);
        }
    }
}
