package dev.vessel.core.paths;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Lists a directory of the layout for its readers: a directory not made yet simply holds nothing. */
public final class DirectoryEntries {
    private DirectoryEntries() {
    }

    /** The entries of {@code dir} whose names match {@code glob}; none when {@code dir} is missing. */
    public static List<Path> matching(Path dir, String glob) throws IOException {
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return found;
        }
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir, glob)) {
            stream.forEach(found::add);
        }
        return found;
    }
}
