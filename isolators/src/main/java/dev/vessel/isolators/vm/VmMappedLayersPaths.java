package dev.vessel.isolators.vm;

import dev.vessel.core.paths.DirectoryEntries;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.paths.ShortNames;
import dev.vessel.core.spi.ImageLayers;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The shared mapped layers' subtree of the state dir ({@link RuntimePaths#vmMappedLayersDir()}): the one place
 * that names what is in it and reads names back from it.
 *
 * <pre>
 * vm-mapped/                       0700
 *   &lt;key&gt;/                        the mapped layer of one image layer chain, complete once under this
 *                                  name and never written after; key: sha256 of the chain
 *     layer/                         every entry of the image in QEMU's mapped model (see {@link VmRootfsView}),
 *                                    owned by QEMU's user
 *     layers                         the chain's layer directories, top first, one a line
 *   .tmp-&lt;key&gt;-&lt;random&gt;/          a build in progress, or an entry being removed
 * </pre>
 */
record VmMappedLayersPaths(Path root) {
    private static final String TEMP_PREFIX = ".tmp-";

    VmMappedLayersPaths(RuntimePaths paths) {
        this(paths.vmMappedLayersDir());
    }

    /**
     * The key of a layer chain: the layer directories are named by their content (diff_id), so the
     * chain, in order, names the merged content the mapped layer is made from.
     */
    static String key(ImageLayers layers) {
        return ShortNames.hash(layersRecord(layers), 64);
    }

    /** What an entry's {@link #layers} file holds. */
    static String layersRecord(ImageLayers layers) {
        StringBuilder s = new StringBuilder();
        for (Path layer : layers.topToBottom()) {
            s.append(layer.toAbsolutePath().normalize()).append('\n');
        }
        return s.toString();
    }

    /** The published entry of the chain with this key. */
    Path entry(String key) {
        return root.resolve(key);
    }

    /** The mapped layer inside an entry or a temporary directory. */
    static Path layer(Path entry) {
        return entry.resolve("layer");
    }

    /** The file naming an entry's layer chain, top first. */
    static Path layers(Path entry) {
        return entry.resolve("layers");
    }

    /** The layer directories an entry was made from, as its {@link #layers} file lists them. */
    static List<Path> readLayers(Path entry) throws IOException {
        return Files.readAllLines(layers(entry), StandardCharsets.UTF_8).stream()
                .filter(line -> !line.isEmpty()).map(Path::of).toList();
    }

    /** A new temporary directory's name for the key, next to its entry; unique per call. */
    Path newTemporary(String key) {
        return root.resolve(TEMP_PREFIX + key + "-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    }

    /** The published entries on disk. */
    List<Path> entries() throws IOException {
        return DirectoryEntries.matching(root, "*").stream()
                .filter(p -> !p.getFileName().toString().startsWith(TEMP_PREFIX)).toList();
    }

    /** The temporary directories on disk. */
    List<Path> temporaries() throws IOException {
        return DirectoryEntries.matching(root, TEMP_PREFIX + "*");
    }
}
