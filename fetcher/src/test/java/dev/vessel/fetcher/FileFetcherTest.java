package dev.vessel.fetcher;

import static dev.vessel.fetcher.FetchFixture.sandbox;
import static dev.vessel.fetcher.FetchFixture.uri;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileFetcherTest {
    @TempDir
    Path tmp;
    FetchFixture node;
    FileFetcher files;
    Path artifacts;
    Path sandbox;

    @BeforeEach
    void setUp() throws Exception {
        node = new FetchFixture(tmp);
        artifacts = Files.createDirectories(tmp.resolve("artifacts"));
        files = new FileFetcher(node.cache, List.of(artifacts));
        sandbox = sandbox(tmp, "sandbox");
    }

    @Test
    void aFileUriIsFetchedAndCached() throws Exception {
        Path source = Files.writeString(artifacts.resolve("run.sh"), "#!/bin/sh\necho hi\n");

        Path file = files.fetch(uri(source.toUri().toString()).setExecutable(true).build(), sandbox).path();

        assertEquals(sandbox.resolve("run.sh"), file);
        assertEquals("#!/bin/sh\necho hi\n", Files.readString(file));
        assertEquals(0755, (int) Files.getAttribute(file, "unix:mode") & 07777);
        assertEquals(1, node.cachedBlobs());
    }

    @Test
    void aChangedFileIsFetchedAgain() throws Exception {
        Path source = Files.writeString(artifacts.resolve("conf"), "one");
        var u = uri(source.toUri().toString()).build();
        files.fetch(u, sandbox);

        Files.writeString(source, "two, longer");

        assertEquals("two, longer", Files.readString(files.fetch(u, sandbox).path()));
    }

    @Test
    void filesOutsideTheAllowedRootsAreRefused() throws Exception {
        Path secret = Files.writeString(tmp.resolve("secret"), "no");
        Files.createSymbolicLink(artifacts.resolve("sneaky"), secret);

        for (Path p : List.of(secret, artifacts.resolve("sneaky"))) {
            VesselException e = assertThrows(VesselException.class,
                    () -> files.fetch(uri(p.toUri().toString()).build(), sandbox));
            assertEquals(ErrorCode.FAILED_PRECONDITION, e.code(), e.getMessage());
        }
        assertEquals(0, node.cachedBlobs());
    }

    @Test
    void aMissingFileIsNotFound() {
        VesselException e = assertThrows(VesselException.class,
                () -> files.fetch(uri(artifacts.resolve("nope").toUri().toString()).build(), sandbox));

        assertEquals(ErrorCode.NOT_FOUND, e.code());
    }
}
