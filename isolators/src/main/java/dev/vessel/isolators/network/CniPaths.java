package dev.vessel.isolators.network;

import dev.vessel.core.paths.RuntimePaths;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The network/cni isolator's own subtree of the run dir ({@link RuntimePaths#cniStateDir()}): the
 * one place that names what is in it and reads it back.
 *
 * <pre>
 * cni/
 *   &lt;id&gt;/              one directory per container that has networks or resolver files
 *     netns              the container's network namespace, a bind-mounted nsfs file
 *     attachments        checkpoint of each ADD: what its DEL needs
 *     resolv.conf, hosts, hostname
 *                        a process container's resolver files ({@link NetworkFiles}), bound into it: here, where
 *                        a task in a user namespace of its own reaches them (the container's directory is 0700)
 * </pre>
 *
 * @param root the isolator's directory, as RuntimePaths names it; absolute and normalized here, as
 *             netns paths under it are compared with mountinfo's
 */
record CniPaths(Path root) {
    CniPaths {
        root = root.toAbsolutePath().normalize();
    }

    Path containerDir(String containerId) {
        return root.resolve(containerId);
    }

    Path netns(String containerId) {
        return containerDir(containerId).resolve("netns");
    }

    Path attachments(String containerId) {
        return containerDir(containerId).resolve("attachments");
    }

    /** The ids of the containers that have a directory here; none when the root is missing. */
    List<String> containerIds() throws IOException {
        List<String> ids = new ArrayList<>();
        if (!Files.isDirectory(root)) {
            return ids;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(root, Files::isDirectory)) {
            entries.forEach(e -> ids.add(e.getFileName().toString()));
        }
        return ids;
    }
}
