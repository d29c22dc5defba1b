package dev.vessel.provisioner.rootfs;

import dev.vessel.provisioner.layer.LayerUnpacker;
import dev.vessel.provisioner.layer.TarBuilder;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/** Layer fixtures for the rootfs tests, unpacked as the layer store would, and a tree comparer. */
final class Layers {
    private Layers() {
    }

    /**
     * Three layers; the top one deletes etc/passwd and makes var/cache opaque. Merged, they hold
     * etc/hosts "v1", var/cache/new only, usr/local/x, top, bin/sh → busybox, home/user/file.
     */
    static List<Path> three(Path parent) {
        return unpackAll(parent, List.of(
                new TarBuilder()
                        .file("etc/passwd", "root:x:0:0\n").file("etc/hosts", "v0")
                        .file("var/cache/a", "a").file("var/cache/sub/b", "b")
                        .file("bin/busybox", "#!", 0755, 0, 0).symlink("bin/sh", "busybox")
                        .file("usr/bin/su", "su", 04755, 0, 0)
                        .dir("home/user", 0700, 1000, 1000).file("home/user/file", "mine", 0600, 1000, 1000)
                        .gzip(),
                new TarBuilder().file("etc/hosts", "v1").file("usr/local/x", "x").file("var/cache/c", "c").zstd(),
                new TarBuilder().whiteout("etc/passwd").opaque("var/cache").file("var/cache/new", "new")
                        .file("top", "top").gzip()));
    }

    static List<Path> unpackAll(Path parent, List<TarBuilder.Layer> layers) {
        List<Path> diffs = new ArrayList<>();
        LayerUnpacker unpacker = new LayerUnpacker();
        try {
            for (int i = 0; i < layers.size(); i++) {
                Path diff = Files.createDirectories(parent.resolve("layer-" + i));
                unpacker.unpack(layers.get(i).descriptor(), new ByteArrayInputStream(layers.get(i).blob()), diff);
                diffs.add(diff);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return diffs;
    }

    /** Every path under {@code root} with its type, mode, owner and content or link target. */
    static Map<String, String> describe(Path root) throws IOException {
        Map<String, String> tree = new TreeMap<>();
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.toList()) {
                BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                String owner = Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS) + ":"
                        + Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
                String what = a.isSymbolicLink() ? "link " + Files.readSymbolicLink(p)
                        : a.isDirectory() ? "dir " + mode(p)
                        : a.isRegularFile() ? "file " + mode(p) + " " + Files.readString(p)
                        : "other " + mode(p);
                tree.put(root.relativize(p).toString(), what + " " + owner);
            }
        }
        return tree;
    }

    private static String mode(Path p) throws IOException {
        return Integer.toOctalString((int) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 07777);
    }
}
