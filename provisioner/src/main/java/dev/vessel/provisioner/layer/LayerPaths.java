package dev.vessel.provisioner.layer;

import dev.vessel.core.paths.DirectoryEntries;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.provisioner.store.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The layer store's subtree of the state dir ({@link RuntimePaths#layersDir()}): the one place that
 * names what is in it and reads names back from it.
 *
 * <pre>
 * layers/
 *   &lt;algorithm&gt;/                    sha256 or sha512, of the layer's diff_id
 *     &lt;hex&gt;/diff/                   an unpacked layer, complete once under this name
 *     .tmp-&lt;hex&gt;-&lt;random&gt;/          an unpack in progress, or a layer being deleted
 * </pre>
 */
record LayerPaths(Path root) {
    private static final String TEMP_PREFIX = ".tmp-";
    private static final List<String> ALGORITHMS = List.of("sha256", "sha512");

    LayerPaths(RuntimePaths paths) {
        this(paths.layersDir());
    }

    /** The directory of the layers whose diff_ids use {@code algorithm}. */
    Path algorithmDir(String algorithm) {
        return root.resolve(algorithm);
    }

    /** The layer's directory: its {@link #diff} and nothing else. */
    Path layerDir(String diffId) {
        Digest digest = Digest.parse("diff_id", diffId);
        return algorithmDir(digest.algorithm()).resolve(digest.hex());
    }

    /** The layer's unpacked files. */
    Path diff(String diffId) {
        return diffIn(layerDir(diffId));
    }

    /** The {@code diff} directory inside a layer's directory or a temporary one. */
    static Path diffIn(Path layerDir) {
        return layerDir.resolve("diff");
    }

    /** A new temporary directory's name for the layer, next to its real place; unique per call. */
    Path newTemporary(String diffId) {
        Digest digest = Digest.parse("diff_id", diffId);
        return algorithmDir(digest.algorithm()).resolve(TEMP_PREFIX + digest.hex() + "-"
                + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    }

    /** The diff_ids of the complete layers on disk. */
    List<String> diffIds() throws IOException {
        List<String> ids = new ArrayList<>();
        for (String algorithm : ALGORITHMS) {
            for (Path entry : DirectoryEntries.matching(algorithmDir(algorithm), "*")) {
                String name = entry.getFileName().toString();
                if (!name.startsWith(TEMP_PREFIX) && Files.isDirectory(diffIn(entry))) {
                    ids.add(algorithm + ":" + name);
                }
            }
        }
        return ids;
    }

    /** A temporary directory found on disk and the diff_id of the layer it was made for. */
    record Temporary(Path dir, String diffId) {
    }

    /** The temporary directories on disk. */
    List<Temporary> temporaries() throws IOException {
        List<Temporary> found = new ArrayList<>();
        for (String algorithm : ALGORITHMS) {
            for (Path temp : DirectoryEntries.matching(algorithmDir(algorithm), TEMP_PREFIX + "*")) {
                found.add(new Temporary(temp, algorithm + ":" + hexOfTemporary(temp.getFileName().toString())));
            }
        }
        return found;
    }

    /** {@code .tmp-<hex>-<random>} to {@code <hex>}. */
    static String hexOfTemporary(String name) {
        String rest = name.substring(TEMP_PREFIX.length());
        int dash = rest.indexOf('-');
        return dash < 0 ? rest : rest.substring(0, dash);
    }

}
