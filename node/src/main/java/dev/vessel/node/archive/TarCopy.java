package dev.vessel.node.archive;

import dev.vessel.core.error.VesselException;
import dev.vessel.provisioner.layer.FileTrees;
import dev.vessel.provisioner.layer.LayerTree;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileStore;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * {@code vessel cp}'s tar streams, podman's and docker's shape: a file or a directory tree under one top-level
 * name. Writing follows no symlink (they are archived as links) and does not descend into the kernel's
 * pseudo filesystems; extracting goes through {@link LayerTree}, so no entry lands outside the directory it
 * is unpacked into, not even through a symlink already there. Directories, regular files and symlinks only.
 */
public final class TarCopy {
    private static final int PERMISSIONS = 07777;
    /** Filesystems whose files are the kernel's views, not content: /proc, /sys, /dev/pts… are not copied. */
    private static final Set<String> PSEUDO = Set.of("proc", "sysfs", "devpts", "cgroup", "cgroup2", "mqueue",
            "debugfs", "tracefs", "securityfs", "bpf", "configfs", "fusectl", "pstore", "binfmt_misc", "hugetlbfs");

    private TarCopy() {
    }

    /** Writes {@code source} (not followed if a symlink) as {@code topName} and, for a directory, all under it. */
    public static void write(Path source, String topName, OutputStream to) throws IOException {
        TarArchiveOutputStream tar = new TarArchiveOutputStream(to);
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        Files.walkFileTree(source, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                if (!dir.equals(source) && PSEUDO.contains(fileStoreType(dir))) {
                    return FileVisitResult.SKIP_SUBTREE;
                }
                add(tar, dir, name(dir), attrs);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                add(tar, file, name(file), attrs);
                return FileVisitResult.CONTINUE;
            }

            private String name(Path p) {
                String rel = source.relativize(p).toString();
                return rel.isEmpty() ? topName : topName + "/" + rel;
            }
        });
        tar.finish();
        tar.flush();
    }

    private static String fileStoreType(Path dir) {
        try {
            FileStore store = Files.getFileStore(dir);
            return store.type();
        } catch (IOException e) {
            return ""; // e.g. gone in between: walked as any other directory
        }
    }

    private static void add(TarArchiveOutputStream tar, Path path, String name, BasicFileAttributes attrs) throws IOException {
        TarArchiveEntry entry;
        if (attrs.isSymbolicLink()) {
            entry = new TarArchiveEntry(name, TarConstants.LF_SYMLINK);
            entry.setLinkName(Files.readSymbolicLink(path).toString());
        } else if (attrs.isDirectory()) {
            entry = new TarArchiveEntry(name + "/");
        } else if (attrs.isRegularFile()) {
            entry = new TarArchiveEntry(name);
            entry.setSize(attrs.size());
        } else {
            return; // devices, fifos and sockets are not content to copy
        }
        Map<String, Object> unix = Files.readAttributes(path, "unix:mode,uid,gid", LinkOption.NOFOLLOW_LINKS);
        entry.setMode((Integer) unix.get("mode") & PERMISSIONS | (attrs.isDirectory() ? 040000
                : attrs.isSymbolicLink() ? 0120000 : 0100000));
        entry.setUserId((Integer) unix.get("uid"));
        entry.setGroupId((Integer) unix.get("gid"));
        // whole seconds, as ustar keeps them: no PAX header for every entry
        entry.setModTime(FileTime.from(attrs.lastModifiedTime().to(java.util.concurrent.TimeUnit.SECONDS),
                java.util.concurrent.TimeUnit.SECONDS));
        tar.putArchiveEntry(entry);
        if (attrs.isRegularFile()) {
            try (InputStream in = Files.newInputStream(path, LinkOption.NOFOLLOW_LINKS)) {
                copyExactly(in, tar, attrs.size());
            }
        }
        tar.closeArchiveEntry();
    }

    /** The size read at the start: a file that grows or shrinks while read still makes a well-formed entry. */
    private static void copyExactly(InputStream in, OutputStream out, long size) throws IOException {
        byte[] buffer = new byte[64 * 1024];
        long left = size;
        while (left > 0) {
            int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
            if (n < 0) {
                break;
            }
            out.write(buffer, 0, n);
            left -= n;
        }
        for (; left > 0; left--) {
            out.write(0);
        }
    }

    /**
     * Unpacks {@code tar} into the directory {@code dir}; with {@code rename}, the top-level name of every entry is
     * replaced by it (a copy to a new name). Entries keep their permission bits and modification times; they
     * belong to {@code uid}:{@code gid}, or (negative) to whoever runs this, as docker's cp. Returns the number
     * of entries.
     */
    public static int extract(InputStream tar, Path dir, String rename, int uid, int gid, String subject)
            throws IOException {
        LayerTree tree = new LayerTree(dir, subject);
        List<Path> dirs = new ArrayList<>();
        List<TarArchiveEntry> dirEntries = new ArrayList<>();
        int count = 0;
        TarArchiveInputStream in = new TarArchiveInputStream(tar);
        for (TarArchiveEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
            String name = entry.getName();
            String rel = tree.relative(name, name, "path");
            if (rel.isEmpty()) {
                throw tree.hostile(name, "an entry names the directory it is unpacked into");
            }
            if (rename != null) {
                int slash = rel.indexOf('/');
                rel = rename + (slash < 0 ? "" : rel.substring(slash));
            }
            Path target;
            if (entry.isDirectory()) {
                target = tree.prepare(name, rel, true);
                if (FileTrees.attributes(target) == null) {
                    Files.createDirectory(target);
                }
                dirs.add(target);
                dirEntries.add(entry);
            } else if (entry.isSymbolicLink()) {
                if (entry.getLinkName().isEmpty()) {
                    throw tree.hostile(name, "symlink with an empty target");
                }
                target = tree.prepare(name, rel, false);
                Files.createSymbolicLink(target, Path.of(entry.getLinkName()));
            } else if (entry.isFile()) {
                target = tree.prepare(name, rel, false);
                try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                    in.transferTo(out);
                }
                Files.setAttribute(target, "unix:mode", entry.getMode() & PERMISSIONS, LinkOption.NOFOLLOW_LINKS);
                Files.setLastModifiedTime(target, FileTime.from(entry.getModTime().toInstant()));
            } else {
                throw VesselException.invalid(subject, "entry '" + name + "': only directories, regular files and"
                        + " symlinks are copied");
            }
            if (uid >= 0) {
                Files.setAttribute(target, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
                Files.setAttribute(target, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
            }
            count++;
        }
        // last, so that a directory made read-only was still filled
        for (int i = dirs.size() - 1; i >= 0; i--) {
            if (Files.isDirectory(dirs.get(i), LinkOption.NOFOLLOW_LINKS)) {
                Files.setAttribute(dirs.get(i), "unix:mode", dirEntries.get(i).getMode() & PERMISSIONS,
                        LinkOption.NOFOLLOW_LINKS);
                Files.setLastModifiedTime(dirs.get(i), FileTime.from(dirEntries.get(i).getModTime().toInstant()));
            }
        }
        return count;
    }
}
