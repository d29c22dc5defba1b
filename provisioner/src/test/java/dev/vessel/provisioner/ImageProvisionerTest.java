package dev.vessel.provisioner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.RootfsLayers;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ProvisionedRootfs;
import dev.vessel.provisioner.layer.RootRequired;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.registry.CredentialsProvider;
import dev.vessel.provisioner.registry.RegistryTransport;
import dev.vessel.provisioner.rootfs.RootfsBackends;
import dev.vessel.provisioner.store.BlobHolder;
import dev.vessel.provisioner.testing.LocalRegistry;
import dev.vessel.provisioner.testing.TestImages;
import dev.vessel.provisioner.testing.Tools;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Image to rootfs end to end: a real registry on loopback, an image made by umoci and pushed by
 * skopeo, the rootfs assembled by overlay, compared file for file with skopeo copy + umoci unpack.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ImageProvisionerTest {
    private LocalRegistry registry;
    private Path work;
    private ImageReference reference;

    @BeforeAll
    void startRegistryAndPush(@TempDir Path work) throws Exception {
        RootRequired.check();
        Tools.require("docker-registry", "skopeo", "umoci");
        this.work = work;
        registry = LocalRegistry.start(work.resolve("registry"), false);
        Path layout = TestImages.buildTwoLayer(work, "v1");
        TestImages.push(layout, "v1", registry.address() + "/vessel/two:v1", null);
        reference = ImageReferenceParser.parse(registry.address() + "/vessel/two:v1");
    }

    @AfterAll
    void stopRegistry() throws InterruptedException {
        if (registry != null) {
            registry.close();
        }
    }

    private static ImageProvisioner provisioner(Path state) throws IOException {
        RuntimePaths paths = new RuntimePaths(state, state.resolve("run"));
        return new ImageProvisioner(paths, CredentialsProvider.NONE,
                new RegistryTransport.Options(Set.of(), 2, Duration.ofMillis(20)), RootfsBackends.detect(paths),
                BlobHolder.NONE);
    }

    @Test
    void anOverlayRootfsMatchesSkopeoAndUmociFileForFile(@TempDir Path state) throws Exception {
        ImageProvisioner provisioner = provisioner(state);
        ProvisionedRootfs rootfs = provisioner.provision("c1", reference);
        try {
            Path oci = work.resolve("skopeo-oci");
            Tools.run("skopeo", "copy", "--quiet", "--src-tls-verify=false",
                    "docker://" + registry.address() + "/vessel/two:v1", "oci:" + oci + ":v1");
            Path bundle = work.resolve("umoci-bundle");
            Tools.run("umoci", "unpack", "--image", oci + ":v1", bundle.toString());

            Map<String, String> expected = tree(bundle.resolve("rootfs"));
            Map<String, String> actual = tree(rootfs.rootfs());
            assertEquals(expected, actual);
            // the whiteout and the opaque directory of layer 2 took effect
            assertFalse(actual.containsKey("etc/gone"));
            assertFalse(actual.containsKey("data/old"));
            assertTrue(actual.containsKey("data/new"));

            assertEquals(List.of("/bin/busybox"), rootfs.defaults().getEntrypointList());
            assertEquals(List.of("sh"), rootfs.defaults().getCmdList());
            assertEquals("/data", rootfs.defaults().getWorkingDir());
            assertEquals("1000", rootfs.defaults().getUser());
        } finally {
            provisioner.destroy("c1");
        }
        assertFalse(Files.exists(state.resolve("rootfs/c1")));
        assertFalse(mounted(state));
    }

    @Test
    void anUnmountedOverlayIsDescribedByItsLayersTopFirstAndMountsNothing(@TempDir Path state) throws Exception {
        ImageProvisioner provisioner = provisioner(state);
        ProvisionedRootfs mounted = provisioner.provision("mounted", reference);
        ProvisionedRootfs unmounted = provisioner.provisionUnmounted("idmapped", reference);
        try {
            assertTrue(mounted.layers().isEmpty());
            RootfsLayers layers = unmounted.layers().orElseThrow();
            // a mounted overlay names the layers it shows, top first, so their content can be cached by them
            assertEquals(layers.getLowerList(), mounted.imageLayers().orElseThrow().topToBottom().stream()
                    .map(Path::toString).toList());
            assertTrue(unmounted.imageLayers().isEmpty(), "an unmounted overlay's rootfs shows nothing yet");
            assertEquals(2, layers.getLowerCount());
            // the top layer first, as overlay stacks them: layer 2 holds data/new
            assertTrue(Files.exists(Path.of(layers.getLower(0), "data", "new")), layers::toString);
            assertEquals(state.resolve("rootfs/idmapped/overlay/upper").toString(), layers.getUpper());
            assertEquals(state.resolve("rootfs/idmapped/overlay/work").toString(), layers.getWork());
            assertTrue(Files.isDirectory(Path.of(layers.getUpper())) && Files.isDirectory(Path.of(layers.getWork())));
            assertEquals(state.resolve("rootfs/idmapped/rootfs"), unmounted.rootfs());
            try (var entries = Files.list(unmounted.rootfs())) {
                assertEquals(0, entries.count(), "an empty directory, no overlay on it");
            }
            assertEquals(unmounted.defaults(), mounted.defaults());
        } finally {
            provisioner.destroy("idmapped");
            provisioner.destroy("mounted");
        }
        assertFalse(Files.exists(state.resolve("rootfs/idmapped")));
        assertFalse(mounted(state));
    }

    @Test
    void aContainersWritesStayInItsOwnRootfs(@TempDir Path state) throws Exception {
        ImageProvisioner provisioner = provisioner(state);
        Path a = provisioner.provision("a", reference).rootfs();
        Path b = provisioner.provision("b", reference).rootfs();
        try {
            Files.writeString(a.resolve("etc/motd"), "changed by a\n");
            assertEquals("hello v1\n", Files.readString(b.resolve("etc/motd")));
        } finally {
            provisioner.destroy("a");
            provisioner.destroy("b");
        }
    }

    @Test
    void anImageInUseIsNeverCollectedAndAnUnusedOneIs(@TempDir Path state) throws Exception {
        ImageProvisioner provisioner = provisioner(state);
        provisioner.provision("user", reference);

        VesselException inUse = assertThrows(VesselException.class, () -> provisioner.removeImage(reference));
        assertEquals(ErrorCode.FAILED_PRECONDITION, inUse.code());
        assertEquals(0, provisioner.collectGarbage().bytesFreed(), "a named image in use lost data");

        provisioner.destroy("user");
        provisioner.removeImage(reference);
        GarbageCollector.Report report = provisioner.collectGarbage();
        assertEquals(4, report.blobsRemoved(), "manifest, config and two layer blobs");
        assertEquals(2, report.layersRemoved());
        assertTrue(report.bytesFreed() > 1_000_000, "busybox alone is over a megabyte: " + report);
        try (Stream<Path> left = Files.walk(state.resolve("blobs"))) {
            assertEquals(0, left.filter(Files::isRegularFile).count());
        }
        assertEquals(List.of(), provisioner.images());
    }

    @Test
    void aPulledImageProvisionsWithoutItsRegistry(@TempDir Path state) throws Exception {
        ImageProvisioner provisioner = provisioner(state);
        try (LocalRegistry own = LocalRegistry.start(state.resolve("own-registry"), false)) {
            TestImages.push(work.resolve("oci"), "v1", own.address() + "/vessel/two:v1", null);
            ImageReference ref = ImageReferenceParser.parse(own.address() + "/vessel/two:v1");
            provisioner.provision("first", ref);
            own.close();
            Path second = provisioner.provision("second", ref).rootfs();
            assertTrue(Files.exists(second.resolve("data/new")));
        } finally {
            provisioner.destroy("first");
            provisioner.destroy("second");
        }
    }

    @Test
    void recoveryRemovesTheRootfsOfUnknownContainers(@TempDir Path state) throws Exception {
        ImageProvisioner before = provisioner(state);
        before.provision("kept", reference);
        before.provision("orphan", reference);

        ImageProvisioner after = provisioner(state);
        after.recover(Set.of("kept"));
        assertTrue(Files.exists(state.resolve("rootfs/kept/rootfs/data/new")));
        assertFalse(Files.exists(state.resolve("rootfs/orphan")));
        after.destroy("kept");
        assertFalse(mounted(state));
    }

    /** Every entry under {@code root}: type, mode, owner, and content hash or link target. */
    private static Map<String, String> tree(Path root) throws IOException {
        Map<String, String> entries = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                if (p.equals(root)) {
                    continue;
                }
                PosixFileAttributes a = Files.readAttributes(p, PosixFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                int uid = (Integer) Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
                int gid = (Integer) Files.getAttribute(p, "unix:gid", LinkOption.NOFOLLOW_LINKS);
                String what = a.isSymbolicLink() ? "link->" + Files.readSymbolicLink(p)
                        : a.isDirectory() ? "dir" : a.isRegularFile() ? "file " + sha256(p) : "other";
                entries.put(root.relativize(p).toString(),
                        what + " " + PosixFilePermissions.toString(a.permissions()) + " " + uid + ":" + gid);
            }
        }
        return entries;
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[65536];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static boolean mounted(Path state) throws IOException {
        return Files.readString(Path.of("/proc/self/mountinfo")).contains(state.toString());
    }
}
