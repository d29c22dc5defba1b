package dev.vessel.provisioner.archive;

import dev.vessel.provisioner.layer.LayerCompression;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.ImageSource;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.provisioner.image.ImageLoader;
import dev.vessel.provisioner.image.Layer;
import dev.vessel.provisioner.image.Platform;
import dev.vessel.provisioner.image.PulledImage;
import dev.vessel.provisioner.registry.PlatformSelector;
import dev.vessel.provisioner.store.BlobStore;
import dev.vessel.provisioner.store.Digest;
import dev.vessel.provisioner.store.ImageIndex;
import dev.vessel.provisioner.testing.TestImages;
import dev.vessel.provisioner.testing.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** Imports from an umoci-built OCI layout and from a docker-archive made of it by skopeo: the same image. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ArchiveImportTest {
    private Path layout;
    private Path archive;

    @BeforeAll
    void buildFixtures(@TempDir Path work) throws Exception {
        Tools.require("skopeo", "umoci");
        layout = TestImages.buildTwoLayer(work, "v1");
        archive = work.resolve("image.tar");
        Tools.run("skopeo", "copy", "--quiet", "oci:" + layout + ":v1", "docker-archive:" + archive + ":vessel/two:v1");
    }

    private record Env(BlobStore store, ImageLoader loader) {
    }

    private static Env env(Path state) {
        RuntimePaths paths = new RuntimePaths(state, state.resolve("run"));
        BlobStore store = new BlobStore(paths);
        return new Env(store, new ImageLoader(store, new ImageIndex(paths)));
    }

    private static ImageReference ref(ImageSource source, Path path, String tag) {
        return ImageReference.newBuilder().setSource(source).setPath(path.toString()).setTag(tag).build();
    }

    @Test
    void ociLayoutAndDockerArchiveGiveTheSameImage(@TempDir Path state) throws Exception {
        Env env = env(state);
        PulledImage oci = new OciLayoutSource(env.store(), env.loader(), new PlatformSelector(Platform.LINUX_AMD64))
                .importImage(ref(ImageSource.OCI_LAYOUT, layout, "v1"));
        PulledImage docker = new DockerArchiveSource(env.store(), env.loader())
                .importImage(ref(ImageSource.DOCKER_ARCHIVE, archive, "vessel/two:v1"));

        assertEquals(2, oci.layers().size());
        assertTrue(oci.layers().stream().allMatch(l -> l.compression() == LayerCompression.GZIP));
        assertEquals(oci.diffIds(), docker.diffIds());
        assertEquals(oci.defaults(), docker.defaults());
        // docker-archive layers are the uncompressed tars, stored under their diff_ids.
        assertEquals(oci.diffIds(), docker.layers().stream().map(Layer::digest).toList());
        assertTrue(docker.layers().stream().allMatch(l -> l.compression() == LayerCompression.NONE));
        for (Digest d : env.store().list()) {
            assertEquals(d, Digest.sha256(Files.readAllBytes(env.store().path(d))));
        }
        assertEquals(oci, env.loader().resolveLocal(ref(ImageSource.OCI_LAYOUT, layout, "v1")).orElseThrow());
        assertEquals(docker, env.loader().resolveLocal(ref(ImageSource.DOCKER_ARCHIVE, archive, "vessel/two:v1")).orElseThrow());
        // With no tag, the one image inside is taken.
        assertEquals(docker.manifestDigest(), new DockerArchiveSource(env.store(), env.loader())
                .importImage(ref(ImageSource.DOCKER_ARCHIVE, archive, "")).manifestDigest());
    }

    @Test
    void unknownTagsAreNotFoundWithTheTagsOnOffer(@TempDir Path state) {
        Env env = env(state);
        VesselException oci = assertThrows(VesselException.class, () -> new OciLayoutSource(env.store(), env.loader(),
                new PlatformSelector(Platform.LINUX_AMD64)).importImage(ref(ImageSource.OCI_LAYOUT, layout, "nosuch")));
        assertEquals(ErrorCode.NOT_FOUND, oci.code());
        assertTrue(oci.getMessage().contains("no image tagged 'nosuch' in the layout; tags: [v1"), oci.getMessage());
        VesselException docker = assertThrows(VesselException.class, () -> new DockerArchiveSource(env.store(), env.loader())
                .importImage(ref(ImageSource.DOCKER_ARCHIVE, archive, "other:v2")));
        assertEquals(ErrorCode.NOT_FOUND, docker.code());
        assertTrue(docker.getMessage().contains("no image tagged 'other:v2' in the archive"), docker.getMessage());
    }

    @Test
    void corruptLayoutBlobIsRejected(@TempDir Path state) throws Exception {
        Path copy = state.resolve("layout");
        Tools.run("cp", "-a", layout.toString(), copy.toString());
        Env env = env(state);
        Env probe = env(state.resolve("probe"));
        PulledImage good = new OciLayoutSource(probe.store(), probe.loader(), new PlatformSelector(Platform.LINUX_AMD64)).importImage(ref(ImageSource.OCI_LAYOUT, copy, "v1"));
        Digest layer = good.layers().getLast().digest();
        Path blob = copy.resolve("blobs/sha256/" + layer.hex());
        byte[] bytes = Files.readAllBytes(blob);
        bytes[bytes.length / 2] ^= 1;
        Files.write(blob, bytes);
        VesselException e = assertThrows(VesselException.class, () -> new OciLayoutSource(env.store(), env.loader(),
                new PlatformSelector(Platform.LINUX_AMD64)).importImage(ref(ImageSource.OCI_LAYOUT, copy, "v1")));
        assertEquals(ErrorCode.DATA_LOSS, e.code());
        assertTrue(e.getMessage().startsWith("blob " + layer + ": content does not match its digest: expected " + layer),
                e.getMessage());
        assertFalse(env.store().has(layer));
    }
}
