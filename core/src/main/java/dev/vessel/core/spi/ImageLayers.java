package dev.vessel.core.spi;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The ordered chain of an image's unpacked layers under which a provisioned rootfs shows them: the
 * rootfs is exactly these layers merged, read through and never written. Each directory is
 * content-addressed (named by its layer's diff_id), so the chain identifies the rootfs's content and
 * what is derived from that content alone can be cached under it.
 *
 * @param topToBottom the layers' directories, the top (last applied) first
 */
public record ImageLayers(List<Path> topToBottom) {
    public ImageLayers {
        Objects.requireNonNull(topToBottom, "topToBottom");
        if (topToBottom.isEmpty()) {
            throw new IllegalArgumentException("an image has at least one layer");
        }
        topToBottom = List.copyOf(topToBottom);
    }
}
