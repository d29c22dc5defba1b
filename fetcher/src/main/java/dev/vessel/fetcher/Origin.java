package dev.vessel.fetcher;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.Optional;

/** One scheme's way to read a URI's bytes, asked by the {@link ArtifactCache} when it has to. */
interface Origin {
    /**
     * Opens {@code uri}. With {@code known} (what an earlier fetch recorded), the origin may answer
     * {@link NotModified} instead of sending the bytes again. An {@link IOException} means the origin
     * could not be reached; an origin that answered with an error throws a {@code VesselException}.
     */
    Response open(URI uri, Optional<UriIndex.Entry> known) throws IOException, InterruptedException;

    sealed interface Response permits NotModified, Body {
    }

    /** The artifact is still what {@code known} describes. */
    record NotModified() implements Response {
    }

    /**
     * The artifact's bytes; {@code length} is -1 when not announced. {@code validator} is what a later
     * {@link #open} can compare to tell whether the artifact changed (an ETag, a Last-Modified date…),
     * empty when there is none.
     */
    record Body(InputStream content, long length, String validator) implements Response {
    }
}
