package dev.vessel.fetcher;

import dev.vessel.core.error.VesselException;
import dev.vessel.provisioner.layer.FileTrees;
import dev.vessel.provisioner.layer.LayerTree;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;
import org.apache.commons.compress.compressors.zstandard.ZstdCompressorInputStream;

/**
 * Unpacks a fetched archive (tar, tar.gz, tar.zst or zip, told apart by their first bytes, not by
 * the name) through {@link LayerTree}, the provisioner's safe extraction, so no entry lands outside
 * the directory. Entries keep their permission bits only (a download gets no setuid, setgid or
 * sticky bit) and belong to the runtime's user; device nodes and fifos are refused.
 */
final class ArchiveExtractor {
    private enum Format { TAR, TAR_GZIP, TAR_ZSTD, ZIP }

    private static final int BUFFER = 64 * 1024;
    private static final int PERMISSIONS = 0777;
    private static final int DEFAULT_DIR_MODE = 0755;
    private static final int DEFAULT_FILE_MODE = 0644;
    /** Enough of the head to see every format's magic: "ustar" sits at offset 257 in a tar header. */
    private static final int HEAD = 262;

    void extract(Path archive, Path dir, String subject) throws IOException {
        Entries entries = new Entries(new LayerTree(dir, subject));
        Format format = detect(archive, subject);
        if (format == Format.ZIP) {
            unzip(archive, entries);
        } else {
            untar(archive, format, entries);
        }
        entries.applyDirectoryModes();
    }

    private static Format detect(Path archive, String subject) throws IOException {
        byte[] head;
        try (InputStream in = Files.newInputStream(archive)) {
            head = in.readNBytes(HEAD);
        }
        if (startsWith(head, 0x1f, 0x8b)) {
            return Format.TAR_GZIP;
        }
        if (startsWith(head, 0x28, 0xb5, 0x2f, 0xfd)) {
            return Format.TAR_ZSTD;
        }
        if (startsWith(head, 'P', 'K', 3, 4) || startsWith(head, 'P', 'K', 5, 6)) {
            return Format.ZIP;
        }
        if (head.length == HEAD && new String(head, 257, 5, StandardCharsets.US_ASCII).equals("ustar")) {
            return Format.TAR;
        }
        throw VesselException.invalid(subject, "'" + subject + "' is not an archive this node can extract"
                + " (tar, tar.gz, tar.zst, zip)");
    }

    private static boolean startsWith(byte[] head, int... magic) {
        if (head.length < magic.length) {
            return false;
        }
        return Arrays.equals(Arrays.copyOf(head, magic.length), toBytes(magic));
    }

    private static byte[] toBytes(int[] values) {
        byte[] bytes = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            bytes[i] = (byte) values[i];
        }
        return bytes;
    }

    private static void untar(Path archive, Format format, Entries entries) throws IOException {
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(archive), BUFFER);
             InputStream tarBytes = switch (format) {
                 case TAR_GZIP -> GzipCompressorInputStream.builder().setInputStream(raw).setDecompressConcatenated(true).get();
                 case TAR_ZSTD -> new ZstdCompressorInputStream(raw);
                 default -> raw;
             };
             TarArchiveInputStream tar = new TarArchiveInputStream(tarBytes)) {
            for (TarArchiveEntry entry = tar.getNextEntry(); entry != null; entry = tar.getNextEntry()) {
                String name = entry.getName();
                if (entry.isDirectory()) {
                    entries.directory(name, entry.getMode());
                } else if (entry.isSymbolicLink()) {
                    entries.symlink(name, entry.getLinkName());
                } else if (entry.isLink()) {
                    entries.hardLink(name, entry.getLinkName());
                } else if (entry.isFile()) {
                    entries.file(name, entry.getMode(), tar);
                } else {
                    throw entries.tree.hostile(name, "only files, directories and links are unpacked into a sandbox");
                }
            }
        }
    }

    private static void unzip(Path archive, Entries entries) throws IOException {
        try (ZipFile zip = ZipFile.builder().setPath(archive).get()) {
            for (ZipArchiveEntry entry : Collections.list(zip.getEntriesInPhysicalOrder())) {
                String name = entry.getName();
                if (!zip.canReadEntryData(entry)) {
                    throw entries.tree.hostile(name, "encrypted or compressed with an unsupported method");
                }
                // getUnixMode() is 0 when the zip was not made on Unix: the default modes then apply.
                if (entry.isDirectory()) {
                    entries.directory(name, entry.getUnixMode() == 0 ? DEFAULT_DIR_MODE : entry.getUnixMode());
                } else if (entry.isUnixSymlink()) {
                    entries.symlink(name, zip.getUnixSymlink(entry));
                } else {
                    try (InputStream content = zip.getInputStream(entry)) {
                        entries.file(name, entry.getUnixMode() == 0 ? DEFAULT_FILE_MODE : entry.getUnixMode(), content);
                    }
                }
            }
        }
    }

    /** Writes entries through the tree; directory modes come last, so a read-only one is still filled. */
    private static final class Entries {
        final LayerTree tree;
        private final List<Path> dirs = new ArrayList<>();
        private final List<Integer> dirModes = new ArrayList<>();

        Entries(LayerTree tree) {
            this.tree = tree;
        }

        void directory(String name, int mode) throws IOException {
            String rel = tree.relative(name, name, "path");
            if (rel.isEmpty()) {
                return; // the archive's root: the directory it is unpacked into keeps its own mode
            }
            Path dir = tree.prepare(name, rel, true);
            if (FileTrees.attributes(dir) == null) {
                Files.createDirectory(dir);
            }
            dirs.add(dir);
            dirModes.add(mode & PERMISSIONS);
        }

        void file(String name, int mode, InputStream content) throws IOException {
            Path file = tree.prepare(name, nonRoot(name), false);
            try (OutputStream out = Files.newOutputStream(file, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                content.transferTo(out);
            }
            Files.setAttribute(file, "unix:mode", mode & PERMISSIONS, LinkOption.NOFOLLOW_LINKS);
        }

        void symlink(String name, String target) throws IOException {
            if (target.isEmpty()) {
                throw tree.hostile(name, "symlink with an empty target");
            }
            Files.createSymbolicLink(tree.prepare(name, nonRoot(name), false), Path.of(target));
        }

        void hardLink(String name, String target) throws IOException {
            Path existing = tree.existing(name, tree.relative(name, target, "hard link target"));
            Files.createLink(tree.prepare(name, nonRoot(name), false), existing);
        }

        void applyDirectoryModes() throws IOException {
            for (int i = dirs.size() - 1; i >= 0; i--) {
                if (Files.isDirectory(dirs.get(i), LinkOption.NOFOLLOW_LINKS)) { // a later entry may have replaced it
                    Files.setAttribute(dirs.get(i), "unix:mode", dirModes.get(i), LinkOption.NOFOLLOW_LINKS);
                }
            }
        }

        private String nonRoot(String name) {
            String rel = tree.relative(name, name, "path");
            if (rel.isEmpty()) {
                throw tree.hostile(name, "a non-directory entry names the archive's root");
            }
            return rel;
        }
    }
}
