package dev.vessel.fetcher;

import static dev.vessel.fetcher.FetchFixture.list;
import static dev.vessel.fetcher.FetchFixture.sandbox;
import static dev.vessel.fetcher.FetchFixture.uri;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.provisioner.layer.TarBuilder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExtractFetchTest {
    @TempDir
    Path tmp;
    FetchFixture node;
    ArtifactServer server;
    Path sandbox;
    Path outside;

    @BeforeEach
    void setUp() throws Exception {
        node = new FetchFixture(tmp);
        server = new ArtifactServer();
        sandbox = sandbox(tmp, "sandbox");
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret"), "untouched");
    }

    @AfterEach
    void tearDown() {
        server.close();
    }

    static TarBuilder tool() {
        return new TarBuilder().dir("bin").file("bin/tool", "#!/bin/sh\n", 04755, 0, 0).symlink("tool", "bin/tool");
    }

    @Test
    void aTarGzIsUnpackedIntoTheSandbox() throws Exception {
        server.put("/tool.tar.gz", tool().gzip().blob());

        Path dir = node.http.fetch(uri(server.uri("/tool.tar.gz")).setExtract(true).build(), sandbox).path();

        assertEquals(sandbox, dir);
        assertEquals(List.of("bin", "tool"), list(sandbox), "the entries, not the archive");
        assertEquals("#!/bin/sh\n", Files.readString(sandbox.resolve("bin/tool")));
        assertEquals(0755, (int) Files.getAttribute(sandbox.resolve("bin/tool"), "unix:mode") & 07777,
                "permission bits kept, setuid dropped");
        assertEquals(Path.of("bin/tool"), Files.readSymbolicLink(sandbox.resolve("tool")));
    }

    @Test
    void aTarZstIsUnpackedIntoTheOutputDirectory() throws Exception {
        server.put("/download", tool().zstd().blob());

        Path dir = node.http.fetch(uri(server.uri("/download?id=7")).setExtract(true).setOutputFile("pkg").build(),
                sandbox).path();

        assertEquals(sandbox.resolve("pkg"), dir);
        assertEquals("#!/bin/sh\n", Files.readString(sandbox.resolve("pkg/bin/tool")));
    }

    @Test
    void aZipIsUnpacked() throws Exception {
        server.put("/docs.zip", zip("docs/", null, "docs/readme.txt", "read me"));

        node.http.fetch(uri(server.uri("/docs.zip")).setExtract(true).build(), sandbox);

        assertEquals("read me", Files.readString(sandbox.resolve("docs/readme.txt")));
        assertEquals(0644, (int) Files.getAttribute(sandbox.resolve("docs/readme.txt"), "unix:mode") & 07777);
    }

    @Test
    void aZipEntryEscapingWithDotDotIsRefused() throws Exception {
        server.put("/evil.zip", zip("fine.txt", "fine", "../outside/secret", "overwritten"));

        VesselException e = assertThrows(VesselException.class,
                () -> node.http.fetch(uri(server.uri("/evil.zip")).setExtract(true).build(), sandbox));

        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("'../outside/secret'") && e.getMessage().contains("/evil.zip"), e.getMessage());
        assertOutsideUntouched();
    }

    @Test
    void aTarWritingThroughASymlinkIsRefused() throws Exception {
        server.put("/evil.tar.gz", new TarBuilder().symlink("out", outside.toString()).file("out/secret", "overwritten")
                .gzip().blob());

        VesselException e = assertThrows(VesselException.class,
                () -> node.http.fetch(uri(server.uri("/evil.tar.gz")).setExtract(true).build(), sandbox));

        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("'out/secret'"), e.getMessage());
        assertOutsideUntouched();
    }

    @Test
    void somethingThatIsNoArchiveIsRefused() {
        server.put("/plain.txt", "just text".getBytes(StandardCharsets.UTF_8));

        VesselException e = assertThrows(VesselException.class,
                () -> node.http.fetch(uri(server.uri("/plain.txt")).setExtract(true).build(), sandbox));

        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("not an archive"), e.getMessage());
    }

    private void assertOutsideUntouched() throws IOException {
        assertEquals(List.of("secret"), list(outside));
        assertEquals("untouched", Files.readString(outside.resolve("secret")));
        assertFalse(Files.exists(tmp.resolve("secret")));
    }

    /** A zip of name/content pairs (null content: a directory), names written exactly as given. */
    private static byte[] zip(String... namesAndContents) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipArchiveOutputStream zip = new ZipArchiveOutputStream(bytes)) {
            for (int i = 0; i < namesAndContents.length; i += 2) {
                zip.putArchiveEntry(new ZipArchiveEntry(namesAndContents[i]));
                if (namesAndContents[i + 1] != null) {
                    zip.write(namesAndContents[i + 1].getBytes(StandardCharsets.UTF_8));
                }
                zip.closeArchiveEntry();
            }
        }
        return bytes.toByteArray();
    }
}
