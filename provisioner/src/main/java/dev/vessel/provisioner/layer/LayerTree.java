package dev.vessel.provisioner.layer;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.Trees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * The directory an archive (a layer, a fetched artifact) is unpacked into, seen through its entry
 * names. Every name is resolved lexically and then component by component without following
 * symlinks, so no entry can write outside the directory: not by "..", not by an absolute name, not
 * through a symlink an earlier entry created. Callers keep the directory private while they unpack
 * (a layer until it is renamed into the store, a sandbox until its task starts), so nothing changes
 * it between a check and the write that follows.
 */
public final class LayerTree {
    private static final int IMPLICIT_DIR_MODE = 0755;

    private final Path root;
    private final String subject;

    /** {@code subject} names what is unpacked (e.g. "layer sha256:…", a URI); refusals name it. */
    public LayerTree(Path root, String subject) {
        this.root = root;
        this.subject = subject;
    }

    /**
     * {@code path} (the entry's name or link target) as a relative path with "." and ".." resolved ("" for the layer's root). A
     * leading "/" is dropped, as containerd does; ".." above the root is refused.
     */
    public String relative(String entryName, String path, String what) {
        Deque<String> parts = new ArrayDeque<>();
        for (String part : path.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (parts.isEmpty()) {
                    throw hostile(entryName, what + " '" + path + "' escapes the archive's root with '..'");
                }
                parts.removeLast();
            } else if (part.indexOf('\0') >= 0) {
                throw hostile(entryName, what + " contains a NUL byte");
            } else {
                parts.addLast(part);
            }
        }
        return String.join("/", parts);
    }

    /**
     * Makes {@code rel} ready to be created: its parents exist as real directories (missing ones are
     * made, 0755, root-owned) and whatever is at {@code rel} is removed, unless both it and the new
     * entry are directories.
     */
    public Path prepare(String entryName, String rel, boolean directory) throws IOException {
        Path target = parentOf(entryName, rel, true).resolve(fileName(rel));
        BasicFileAttributes existing = attributes(target);
        if (existing != null && !(directory && existing.isDirectory())) {
            Trees.delete(target);
        }
        return target;
    }

    /** A directory of the layer, made if missing; refused if a symlink or a file is in the way. */
    public Path directory(String entryName, String rel) throws IOException {
        if (rel.isEmpty()) {
            return root;
        }
        Path dir = parentOf(entryName, rel, true).resolve(fileName(rel));
        ensureDirectory(entryName, dir);
        return dir;
    }

    /** A path an earlier entry created (a hard link's target); its parents must be real directories. */
    public Path existing(String entryName, String rel) throws IOException {
        if (rel.isEmpty()) {
            throw hostile(entryName, "hard link to the archive's root");
        }
        Path parent = parentOf(entryName, rel, false);
        Path target = parent == null ? null : parent.resolve(fileName(rel));
        BasicFileAttributes attrs = target == null ? null : attributes(target);
        if (attrs == null) {
            throw hostile(entryName, "hard link target '" + rel + "' is not in the archive");
        }
        if (attrs.isDirectory()) {
            throw hostile(entryName, "hard link target '" + rel + "' is a directory");
        }
        return target;
    }

    public VesselException hostile(String entryName, String problem) {
        return VesselException.invalid(subject, "entry '" + entryName + "': " + problem + "; refusing the whole archive");
    }

    public static String fileName(String rel) {
        return rel.substring(rel.lastIndexOf('/') + 1);
    }

    /** The parent of {@code rel}, checked component by component; null if missing and not {@code create}. */
    private Path parentOf(String entryName, String rel, boolean create) throws IOException {
        Path dir = root;
        int slash = rel.lastIndexOf('/');
        if (slash < 0) {
            return dir;
        }
        for (String part : rel.substring(0, slash).split("/")) {
            dir = dir.resolve(part);
            if (!create && attributes(dir) == null) {
                return null;
            }
            ensureDirectory(entryName, dir);
        }
        return dir;
    }

    private void ensureDirectory(String entryName, Path dir) throws IOException {
        BasicFileAttributes attrs = attributes(dir);
        if (attrs == null) {
            Files.createDirectory(dir);
            Files.setAttribute(dir, "unix:mode", IMPLICIT_DIR_MODE, LinkOption.NOFOLLOW_LINKS);
        } else if (attrs.isSymbolicLink()) {
            throw hostile(entryName, "'" + root.relativize(dir) + "' is a symlink; writing through it is refused");
        } else if (!attrs.isDirectory()) {
            throw hostile(entryName, "'" + root.relativize(dir) + "' is not a directory");
        }
    }

    private static BasicFileAttributes attributes(Path path) throws IOException {
        return FileTrees.attributes(path);
    }
}
