package dev.vessel.fetcher;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Fetches file URIs of this node. A config comes from the API, and the node reads as root: only
 * files under the allowed roots can be fetched, checked after symlinks are resolved. Revalidation
 * compares the file's identity, size and mtime, so an unchanged file is not read again.
 */
public final class FileFetcher extends CachingFetcher {
    private final List<Path> allowedRoots;

    /** {@code allowedRoots}: directories whose files may be fetched (e.g. an artifacts directory). */
    public FileFetcher(ArtifactCache cache, List<Path> allowedRoots) {
        super(cache);
        this.allowedRoots = List.copyOf(allowedRoots);
    }

    @Override
    public Set<String> schemes() {
        return Set.of("file");
    }

    @Override
    public Response open(URI uri, Optional<UriIndex.Entry> known) throws IOException {
        Path file = allowedFile(uri);
        BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class);
        if (!attrs.isRegularFile()) {
            throw VesselException.invalid(uri.toString(), "'" + uri + "' is not a regular file");
        }
        String validator = attrs.fileKey() + " " + attrs.size() + " " + attrs.lastModifiedTime().toInstant();
        if (known.isPresent() && known.get().validator().equals(validator)) {
            return new NotModified();
        }
        return new Body(Files.newInputStream(file), attrs.size(), validator);
    }

    /** The file, symlinks resolved, if it exists and lies under an allowed root. */
    private Path allowedFile(URI uri) throws IOException {
        if (uri.getAuthority() != null && !uri.getAuthority().equals("localhost") || uri.getPath() == null) {
            throw VesselException.invalid(uri.toString(), "'" + uri + "' must name a file of this node (file:///path)");
        }
        Path file;
        try {
            file = Path.of(uri.getPath()).toRealPath();
        } catch (NoSuchFileException e) {
            throw VesselException.notFound(uri.toString(), "'" + uri + "': no such file");
        } catch (AccessDeniedException e) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, uri.toString(), "'" + uri + "': permission denied");
        }
        for (Path root : allowedRoots) {
            if (file.startsWith(root.toRealPath())) {
                return file;
            }
        }
        throw new VesselException(ErrorCode.FAILED_PRECONDITION, uri.toString(), "'" + uri
                + "' is not under a directory this node serves file URIs from " + allowedRoots);
    }
}
