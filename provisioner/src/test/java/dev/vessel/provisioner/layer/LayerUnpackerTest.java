package dev.vessel.provisioner.layer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.provisioner.limits.ProvisionerLimits;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class LayerUnpackerTest {
    private static final LinkOption NOFOLLOW = LinkOption.NOFOLLOW_LINKS;

    @TempDir
    Path tmp;
    private Path dir;
    private Path outside;
    private final LayerUnpacker unpacker = new LayerUnpacker();

    @BeforeAll
    static void root() throws IOException {
        RootRequired.check();
    }

    @BeforeEach
    void dirs() throws IOException {
        dir = Files.createDirectory(tmp.resolve("layer"));
        outside = Files.createDirectory(tmp.resolve("outside"));
    }

    static Stream<Arguments> compressions() {
        return Stream.of(
                Arguments.of("tar", (Function<TarBuilder, TarBuilder.Layer>) TarBuilder::plain),
                Arguments.of("gzip", (Function<TarBuilder, TarBuilder.Layer>) TarBuilder::gzip),
                Arguments.of("zstd", (Function<TarBuilder, TarBuilder.Layer>) TarBuilder::zstd));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("compressions")
    void preservesFilesDirectoriesModesOwnersAndLinks(String kind, Function<TarBuilder, TarBuilder.Layer> compress)
            throws IOException {
        TarBuilder.Layer layer = compress.apply(new TarBuilder()
                .dir("./")
                .dir("etc", 0755, 0, 0)
                .file("etc/hosts", "127.0.0.1 localhost\n", 0644, 0, 0)
                .dir("home/user", 0700, 1000, 2000)
                .file("home/user/secret", "s3cret", 0600, 1000, 2000)
                .file("usr/bin/su", "#!/bin/true\n", 04755, 0, 0)
                .symlink("usr/bin/sh", "/bin/busybox", 1000, 2000)
                .hardlink("usr/bin/su-again", "usr/bin/su")
                .fifo("run/fifo", 0620));

        assertEquals(layer.descriptor().diffId(), unpack(layer));

        assertEquals("127.0.0.1 localhost\n", Files.readString(dir.resolve("etc/hosts")));
        assertEquals(0700, mode(dir.resolve("home/user")));
        assertEquals(1000, Files.getAttribute(dir.resolve("home/user"), "unix:uid"));
        assertEquals(2000, Files.getAttribute(dir.resolve("home/user/secret"), "unix:gid"));
        assertEquals(0600, mode(dir.resolve("home/user/secret")));
        assertEquals(04755, mode(dir.resolve("usr/bin/su")), "setuid survives the chown");
        assertEquals(0755, mode(dir.resolve("usr")), "parents the tar does not list are made 0755");
        assertEquals(TarBuilder.MTIME, Files.getLastModifiedTime(dir.resolve("etc/hosts")));
        assertEquals(TarBuilder.MTIME, Files.getLastModifiedTime(dir.resolve("home/user")), "dir mtime set last");

        Path sh = dir.resolve("usr/bin/sh");
        assertTrue(Files.isSymbolicLink(sh));
        assertEquals(Path.of("/bin/busybox"), Files.readSymbolicLink(sh));
        assertEquals(1000, Files.getAttribute(sh, "unix:uid", NOFOLLOW), "the link itself is chowned");

        assertEquals(attrs(dir.resolve("usr/bin/su")).fileKey(), attrs(dir.resolve("usr/bin/su-again")).fileKey(),
                "hard link shares the inode");
        assertTrue(attrs(dir.resolve("run/fifo")).isOther());
        assertEquals(0620, mode(dir.resolve("run/fifo")));
    }

    @Test
    void whiteoutsBecomeOverlayMarkers() throws IOException {
        TarBuilder.Layer layer = new TarBuilder()
                .whiteout("gone")
                .dir("etc")
                .whiteout("etc/passwd")
                .opaque("var/cache")
                .file("var/cache/kept", "new")
                .file(".wh..wh.plnk", "")
                .gzip();

        unpack(layer);

        assertTrue(OverlayMarkers.isWhiteout(dir.resolve("gone")));
        assertTrue(OverlayMarkers.isWhiteout(dir.resolve("etc/passwd")));
        assertTrue(OverlayMarkers.isOpaque(dir.resolve("var/cache")));
        assertFalse(OverlayMarkers.isOpaque(dir.resolve("etc")));
        assertEquals("new", Files.readString(dir.resolve("var/cache/kept")));
        try (Stream<Path> all = Files.walk(dir)) {
            assertTrue(all.noneMatch(p -> p.getFileName().toString().startsWith(".wh.")), "no .wh. file is left");
        }
    }

    @Test
    void absolutePathsAreRelativeToTheLayer() throws IOException {
        unpack(new TarBuilder().file("/abs/path", "x").file("./dot/../plain", "y").plain());

        assertEquals("x", Files.readString(dir.resolve("abs/path")));
        assertEquals("y", Files.readString(dir.resolve("plain")));
    }

    @Test
    void aSymlinkPointingOutsideIsCreatedButNotFollowed() throws IOException {
        unpack(new TarBuilder().symlink("link", outside.toString()).symlink("up", "../..").plain());

        assertEquals(outside, Files.readSymbolicLink(dir.resolve("link")));
        assertEquals(Path.of("../.."), Files.readSymbolicLink(dir.resolve("up")));
    }

    /** Each hostile layer and the entry the refusal must name. */
    static Stream<Arguments> hostileLayers() {
        return Stream.of(
                Arguments.of("dot-dot escape", (Function<Path, TarBuilder>) out -> new TarBuilder()
                        .file("../../etc/x", "pwned"), "../../etc/x"),
                Arguments.of("dot-dot after a directory", (Function<Path, TarBuilder>) out -> new TarBuilder()
                        .file("a/../../x", "pwned"), "a/../../x"),
                Arguments.of("write through an absolute symlink", (Function<Path, TarBuilder>) out -> new TarBuilder()
                        .symlink("link", out.toString()).file("link/passwd", "pwned"), "link/passwd"),
                Arguments.of("write through a relative symlink", (Function<Path, TarBuilder>) out -> new TarBuilder()
                        .dir("a").symlink("a/up", "../../outside").file("a/up/x", "pwned"), "a/up/x"),
                Arguments.of("directory through a symlink", (Function<Path, TarBuilder>) out -> new TarBuilder()
                        .symlink("link", out.toString()).dir("link/sub"), "link/sub/"),
                Arguments.of("whiteout through a symlink", (Function<Path, TarBuilder>) out -> new TarBuilder()
                        .symlink("link", out.toString()).whiteout("link/victim"), "link/.wh.victim"),
                Arguments.of("hard link to outside", (Function<Path, TarBuilder>) out -> new TarBuilder()
                        .hardlink("passwd", "../outside/secret"), "passwd"),
                Arguments.of("hard link to an absolute path", (Function<Path, TarBuilder>) out -> new TarBuilder()
                        .hardlink("passwd", out.resolve("secret").toString()), "passwd"),
                Arguments.of("hard link through a symlink", (Function<Path, TarBuilder>) out -> new TarBuilder()
                        .symlink("link", out.toString()).hardlink("passwd", "link/secret"), "passwd"),
                Arguments.of("whiteout of dot-dot", (Function<Path, TarBuilder>) out -> new TarBuilder()
                        .file("a/.wh...", ""), "a/.wh..."));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileLayers")
    void hostileEntriesAreRefused(String trick, Function<Path, TarBuilder> build, String entry) throws IOException {
        Files.writeString(outside.resolve("secret"), "untouched");
        TarBuilder.Layer layer = build.apply(outside).gzip();

        VesselException e = assertThrows(VesselException.class, () -> unpack(layer));

        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains("'" + entry + "'"), e.getMessage());
        assertTrue(e.getMessage().contains(layer.descriptor().digest()), e.getMessage());
        try (Stream<Path> left = Files.list(outside)) {
            assertEquals(1, left.count(), "nothing was written outside the layer");
        }
        assertEquals("untouched", Files.readString(outside.resolve("secret")));
        assertFalse(Files.exists(tmp.resolve("etc")));
        assertFalse(Files.exists(tmp.resolve("x")));
    }

    @Test
    void aWrongDiffIdIsRefused() {
        TarBuilder.Layer real = new TarBuilder().file("a", "a").gzip();
        LayerDescriptor lying = new LayerDescriptor(real.descriptor().digest(), real.descriptor().mediaType(),
                TarBuilder.sha256("something else".getBytes()));

        VesselException e = assertThrows(VesselException.class,
                () -> unpacker.unpack(lying, new ByteArrayInputStream(real.blob()), dir));

        assertEquals(ErrorCode.DATA_LOSS, e.code());
        assertTrue(e.getMessage().contains(real.descriptor().diffId()), e.getMessage());
    }

    @Test
    void aWrongBlobDigestIsRefused() {
        TarBuilder.Layer real = new TarBuilder().file("a", "a").zstd();
        LayerDescriptor lying = new LayerDescriptor(TarBuilder.sha256(new byte[1]), real.descriptor().mediaType(), null);

        VesselException e = assertThrows(VesselException.class,
                () -> unpacker.unpack(lying, new ByteArrayInputStream(real.blob()), dir));

        assertEquals(ErrorCode.DATA_LOSS, e.code());
    }

    @Test
    void theDiffIdIsComputedWhenNoneIsExpected() throws IOException {
        TarBuilder.Layer layer = new TarBuilder().file("a", "a").zstd();
        LayerDescriptor unknown = new LayerDescriptor(layer.descriptor().digest(), layer.descriptor().mediaType(), null);

        assertEquals(layer.descriptor().diffId(), unpacker.unpack(unknown, new ByteArrayInputStream(layer.blob()), dir));
    }

    @Test
    void anUnknownMediaTypeIsRefused() {
        VesselException e = assertThrows(VesselException.class, () -> new LayerDescriptor(
                TarBuilder.sha256(new byte[0]), "application/vnd.oci.image.config.v1+json", null));

        assertTrue(e.getMessage().contains("application/vnd.oci.image.config.v1+json"), e.getMessage());
    }

    @Test
    void deviceNodesAreNeverCreatedOnTheHost() throws IOException {
        unpack(new TarBuilder()
                .device("dev/sda", true, 8, 0)
                .device("dev/mem", false, 1, 1)
                .fifo("run/fifo", 0600)
                .plain());

        for (String node : new String[] {"dev/sda", "dev/mem"}) {
            assertTrue(OverlayMarkers.isWhiteout(dir.resolve(node)), node + " became a whiteout, not a device");
            assertEquals(0L, Files.getAttribute(dir.resolve(node), "unix:rdev", NOFOLLOW), node);
        }
        assertTrue(attrs(dir.resolve("run/fifo")).isOther(), "fifos are still made");
    }

    @Test
    void aLayerWithMoreEntriesThanTheCapIsRefused() throws IOException {
        LayerUnpacker capped = new LayerUnpacker(new ProvisionerLimits(1024, 1024, 1 << 20, 3));
        TarBuilder.Layer three = new TarBuilder().file("a", "a").file("b", "b").file("c", "c").gzip();
        capped.unpack(three.descriptor(), new ByteArrayInputStream(three.blob()), dir);
        TarBuilder.Layer four = new TarBuilder().file("a", "a").file("b", "b").file("c", "c").file("d", "d").gzip();

        VesselException e = assertThrows(VesselException.class, () -> capped.unpack(four.descriptor(),
                new ByteArrayInputStream(four.blob()), Files.createDirectory(tmp.resolve("four"))));

        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains(four.descriptor().digest()), e.getMessage());
        assertTrue(e.getMessage().contains("more than 3 entries"), e.getMessage());
    }

    @Test
    void aLayerUnpackingPastTheSizeCapIsRefused() throws IOException {
        LayerUnpacker capped = new LayerUnpacker(new ProvisionerLimits(1024, 1024, 4096, 1000));
        TarBuilder.Layer atCap = new TarBuilder().file("a", "x".repeat(2048)).file("b", "y".repeat(2048)).gzip();
        capped.unpack(atCap.descriptor(), new ByteArrayInputStream(atCap.blob()), dir);
        // compresses to a few dozen bytes: the blob's size says nothing about what it unpacks to
        TarBuilder.Layer bomb = new TarBuilder().file("zeros", "\0".repeat(64 * 1024)).gzip();

        VesselException e = assertThrows(VesselException.class, () -> capped.unpack(bomb.descriptor(),
                new ByteArrayInputStream(bomb.blob()), Files.createDirectory(tmp.resolve("bomb"))));

        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertTrue(e.getMessage().contains(bomb.descriptor().digest()), e.getMessage());
        assertTrue(e.getMessage().contains("more than 4096 bytes"), e.getMessage());
        assertTrue(Files.size(tmp.resolve("bomb/zeros")) <= 4096, "the copy stopped at the cap");
    }

    private String unpack(TarBuilder.Layer layer) throws IOException {
        return unpacker.unpack(layer.descriptor(), new ByteArrayInputStream(layer.blob()), dir);
    }

    private static int mode(Path p) throws IOException {
        return (int) Files.getAttribute(p, "unix:mode", NOFOLLOW) & 07777;
    }

    private static BasicFileAttributes attrs(Path p) throws IOException {
        return Files.readAttributes(p, BasicFileAttributes.class, NOFOLLOW);
    }
}
