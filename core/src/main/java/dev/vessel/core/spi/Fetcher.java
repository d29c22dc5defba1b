package dev.vessel.core.spi;

import dev.vessel.core.model.FetchUri;
import java.nio.file.Path;
import java.util.Set;

/** Fetches artifacts of some URI schemes into a container's sandbox. */
public interface Fetcher {
    /** The URI schemes this fetcher serves, lower case (e.g. "http", "https"). */
    Set<String> schemes();

    /** Fetches {@code uri} into {@code sandbox}; returns the file or directory it created. */
    Path fetch(FetchUri uri, Path sandbox) throws Exception;
}
