package dev.vessel.provisioner.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.ImageSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ImageReferenceParserTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "busybox                         | registry-1.docker.io | library/busybox | latest | ",
            "library/busybox:1.36            | registry-1.docker.io | library/busybox | 1.36   | ",
            "docker.io/team/app              | registry-1.docker.io | team/app        | latest | ",
            "index.docker.io/busybox:1       | registry-1.docker.io | library/busybox | 1      | ",
            "localhost/x                     | localhost            | x               | latest | ",
            "localhost:5000/x                | localhost:5000       | x               | latest | ",
            "127.0.0.1:5000/team/app@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa | 127.0.0.1:5000 | team/app | | sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "quay.io/a/b/c:v1.2_3-x@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa  | quay.io        | a/b/c    | v1.2_3-x | sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "example.com/a__b/c-d/e.f        | example.com          | a__b/c-d/e.f    | latest | ",
            "[::1]:5000/x:t                  | [::1]:5000           | x               | t      | ",
    })
    void parsesAndFormats(String text, String registry, String repository, String tag, String digest) {
        ImageReference ref = ImageReferenceParser.parse(text);
        assertEquals(ImageSource.REGISTRY, ref.getSource());
        assertEquals(registry, ref.getRegistry());
        assertEquals(repository, ref.getRepository());
        assertEquals(tag == null ? "" : tag, ref.getTag());
        assertEquals(digest == null ? "" : digest, ref.getDigest());
        String canonical = ImageReferenceParser.format(ref);
        assertEquals(ref, ImageReferenceParser.parse(canonical), "format must round-trip: " + canonical);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "''                              | image reference is empty",
            "Busybox                         | repository 'Busybox' must be lowercase",
            "example.com/Team/app            | repository 'Team/app' must be lowercase",
            "busybox:-bad                    | tag '-bad' is invalid",
            "busybox:a/b                     | registry 'busybox:a' has an invalid port 'a'",
            "busybox@sha256:xyz              | digest 'sha256:xyz' must have 64 hex characters",
            "busybox@sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa            | must have 64 hex characters",
            "busybox@md5:abc                 | digest algorithm 'md5' is not supported",
            "busybox@nocolon                 | must be of the form algorithm:hex",
            "a//b                            | has an invalid component ''",
            "a..b/c                          | registry 'a..b' is not a valid host name",
            "host:99999/x                    | registry 'host:99999' has an invalid port '99999'",
            "-x.io/app                       | registry '-x.io' is not a valid host name",
            "busybox_/x                      | has an invalid component 'busybox_'",
            ":tag                            | has no repository name",
    })
    void rejectsWithMessage(String text, String message) {
        VesselException e = assertThrows(VesselException.class, () -> ImageReferenceParser.parse(text));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals("image", e.field().orElseThrow());
        if (!e.getMessage().contains(message)) {
            throw new AssertionError("'" + text + "': expected a message containing \"" + message + "\", got \"" + e.getMessage() + "\"");
        }
    }

    @Test
    void rejectsOverlongTag() {
        String tag = "t".repeat(129);
        VesselException e = assertThrows(VesselException.class, () -> ImageReferenceParser.parse("busybox:" + tag));
        // the error quotes the tag cut to 64 characters, not all of it
        assertEquals("image: tag '" + "t".repeat(64) + "…' is invalid: it must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}",
                e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "oci:/srv/layout:bb              | OCI_LAYOUT     | /srv/layout   | bb",
            "oci:/srv/layout                 | OCI_LAYOUT     | /srv/layout   | ",
            "docker-archive:/tmp/a.tar:v1    | DOCKER_ARCHIVE | /tmp/a.tar    | v1",
            "docker-archive:/tmp/dir:x/a.tar | DOCKER_ARCHIVE | /tmp/dir:x/a.tar | ",
    })
    void parsesLocalSourcesAndFormatsThem(String text, ImageSource source, String path, String tag) {
        ImageReference ref = ImageReferenceParser.parseWithLocalSources("image", text);
        assertEquals(source, ref.getSource());
        assertEquals(path, ref.getPath());
        assertEquals(tag == null ? "" : tag, ref.getTag());
        assertEquals(text, ImageReferenceParser.format(ref));
    }

    @Test
    void localSourcesAreNotRegistryReferences() {
        assertThrows(VesselException.class, () -> ImageReferenceParser.parse("oci:/srv/layout:bb"));
    }

    @Test
    void errorsNameTheGivenField() {
        VesselException relative = assertThrows(VesselException.class,
                () -> ImageReferenceParser.parseWithLocalSources("ref", "oci:layout:bb"));
        assertEquals(ErrorCode.INVALID_ARGUMENT, relative.code());
        assertEquals("ref", relative.field().orElseThrow());
        assertEquals("ref: the path of 'layout:bb' must be absolute", relative.getMessage());

        VesselException upper = assertThrows(VesselException.class,
                () -> ImageReferenceParser.parseWithLocalSources("ref", "Busybox"));
        assertEquals("ref", upper.field().orElseThrow());
        assertEquals("ref: repository 'Busybox' must be lowercase", upper.getMessage());
    }
}
