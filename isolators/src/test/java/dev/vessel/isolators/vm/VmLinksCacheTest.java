package dev.vessel.isolators.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.ImageLayers;
import dev.vessel.isolators.testing.DirectPrepareContext;
import dev.vessel.linux.DeviceNodes;
import dev.vessel.linux.Mounts;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The links layer shared by the VM rootfs views of one image, on real overlay mounts (as root): an
 * image's rootfs here is an overlay of two layers as the provisioner's overlay backend mounts it, the
 * top layer whiting out one of the bottom layer's symlinks.
 */
class VmLinksCacheTest {
    @TempDir
    Path dir;
    private RuntimePaths paths;
    private VmRootfsIsolator isolator;
    private Path rootfs;
    private ImageLayers layers;
    private final List<DirectPrepareContext> prepared = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        paths = TestContainers.paths(dir);
        isolator = new VmRootfsIsolator(paths);
        Path bottom = Files.createDirectories(dir.resolve("layers/sha256/b0/diff/usr/bin")).getParent().getParent();
        Files.writeString(bottom.resolve("usr/bin/busybox"), "#!");
        Files.createSymbolicLink(bottom.resolve("usr/bin/sh"), Path.of("busybox"));
        Files.createSymbolicLink(bottom.resolve("usr/bin/gone"), Path.of("busybox"));
        Files.createSymbolicLink(bottom.resolve("bin"), Path.of("usr/bin"));
        Path top = Files.createDirectories(dir.resolve("layers/sha256/t1/diff/usr/bin")).getParent().getParent();
        DeviceNodes.create(top.resolve("usr/bin/gone"), DeviceNodes.Kind.CHARACTER, 0, 0, 0); // overlay's whiteout
        Files.createDirectories(top.resolve("etc"));
        Files.createSymbolicLink(top.resolve("etc/mtab"), Path.of("../proc/mounts"));
        rootfs = Files.createDirectories(dir.resolve("rootfs"));
        Mounts.mount("overlay", rootfs, "overlay", Mounts.MS_NODEV, "lowerdir=" + top + ":" + bottom);
        layers = new ImageLayers(List.of(top, bottom));
    }

    @AfterEach
    void tearDown() throws Exception {
        for (DirectPrepareContext context : prepared) {
            isolator.cleanup(context);
        }
        Mounts.unmountTree(dir);
    }

    @Test
    void theViewsOfOneImageShareOneLinksLayerBuiltOnItsFirstLaunch() throws Exception {
        Path a = prepare("a");
        Path shared = Files.readSymbolicLink(paths.vmRootfsDir("a").resolve("links"));
        assertTrue(shared.startsWith(paths.vmLinksDir()), shared + " is not in the shared cache");
        Object inode = Files.getAttribute(shared, "unix:ino");
        FileTime built = Files.getLastModifiedTime(shared.resolve("usr/bin/sh"));

        Path b = prepare("b");
        assertEquals(shared, Files.readSymbolicLink(paths.vmRootfsDir("b").resolve("links")));
        // not rebuilt: the same directory and file, untouched
        assertEquals(inode, Files.getAttribute(shared, "unix:ino"));
        assertEquals(built, Files.getLastModifiedTime(shared.resolve("usr/bin/sh")));
        assertEquals(List.of(shared.getParent()), new VmLinksPaths(paths).entries());
        assertEquals(List.of(), new VmLinksPaths(paths).temporaries());

        for (Path view : List.of(a, b)) {
            assertTrue(Mounts.isMountPoint(view));
            Path sh = view.resolve("usr/bin/sh");
            assertTrue(Files.isRegularFile(sh, LinkOption.NOFOLLOW_LINKS), "usr/bin/sh is still a symlink");
            assertEquals("busybox", Files.readString(sh));
            assertEquals("usr/bin", Files.readString(view.resolve("bin")));
            assertEquals("../proc/mounts", Files.readString(view.resolve("etc/mtab")), "the top layer's link");
            // whited out by the top layer: not resurrected by the links layer
            assertFalse(Files.exists(view.resolve("usr/bin/gone"), LinkOption.NOFOLLOW_LINKS));
        }
        assertFalse(Files.exists(shared.resolve("usr/bin/gone"), LinkOption.NOFOLLOW_LINKS));

        // one view's writes reach neither the other view nor the shared layer
        Files.writeString(a.resolve("usr/bin/sh"), "replaced");
        Files.writeString(a.resolve("new"), "x");
        assertEquals("busybox", Files.readString(b.resolve("usr/bin/sh")));
        assertEquals("busybox", Files.readString(shared.resolve("usr/bin/sh")));
        assertFalse(Files.exists(b.resolve("new")) || Files.exists(shared.resolve("new")));

        // a view going takes its own directory only; the shared layer stays for the next launch
        isolator.cleanup(prepared.removeFirst());
        assertFalse(Files.exists(paths.vmRootfsDir("a")));
        assertEquals("busybox", Files.readString(b.resolve("usr/bin/sh")));
        isolator.cleanup(prepared.removeFirst());
        assertTrue(Files.isDirectory(shared));
        assertEquals(inode, Files.getAttribute(prepare("c").getParent().resolve("links"), "unix:ino"));
    }

    @Test
    void concurrentFirstLaunchesOfOneImagePublishOneEntry() throws Exception {
        VmLinksCache cache = new VmLinksCache(new VmLinksPaths(paths));
        int launches = 6;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(launches);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < launches; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return cache.links(layers, rootfs);
                }));
            }
            start.countDown();
            Set<Path> returned = new HashSet<>();
            for (Future<Path> result : results) {
                returned.add(result.get());
            }
            assertEquals(1, returned.size(), returned::toString);
            Path links = returned.iterator().next();
            assertEquals(List.of(links.getParent()), new VmLinksPaths(paths).entries());
            assertEquals(List.of(), new VmLinksPaths(paths).temporaries(), "a losing build was left");
            assertEquals("busybox", Files.readString(links.resolve("usr/bin/sh")));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void recoveryRemovesLinksLayersOfGoneLayersUnlessAViewUsesThem() throws Exception {
        VmLinksPaths cachePaths = new VmLinksPaths(paths);
        VmLinksCache cache = new VmLinksCache(cachePaths);
        prepare("live");
        Path liveLinks = Files.readSymbolicLink(paths.vmRootfsDir("live").resolve("links"));
        // an image whose layer the provisioner's garbage collection has since removed
        Path collected = Files.createDirectories(dir.resolve("collected"));
        Files.createSymbolicLink(collected.resolve("sh"), Path.of("busybox"));
        Path collectedLinks = cache.links(new ImageLayers(List.of(collected)), collected);
        Files.delete(collected.resolve("sh"));
        Files.delete(collected);
        // an image still on the node that no container runs now
        Path kept = Files.createDirectories(dir.resolve("kept"));
        Path keptLinks = cache.links(new ImageLayers(List.of(kept)), kept);
        // a view using a layer whose image's layers have gone from their place
        Path held = Files.createDirectories(dir.resolve("held"));
        Files.createSymbolicLink(held.resolve("sh"), Path.of("busybox"));
        Path heldLinks = cache.links(new ImageLayers(List.of(held)), held);
        DirectPrepareContext heldContext = context("held");
        heldContext.put(ContainerKeys.ROOTFS, held);
        heldContext.put(ContainerKeys.IMAGE_LAYERS, new ImageLayers(List.of(held)));
        isolator.prepare(heldContext);
        prepared.add(heldContext);
        Files.move(held, dir.resolve("held-elsewhere"));
        // a build a crash interrupted
        Path crashed = Files.createDirectories(cachePaths.newTemporary("0".repeat(64)).resolve("links"));

        isolator.recover(List.of(context("live"), heldContext));
        assertTrue(Files.isDirectory(liveLinks), "the layer of a running view was removed");
        assertTrue(Files.isDirectory(heldLinks), "a layer a running view holds was removed");
        assertTrue(Files.isDirectory(keptLinks), "the layer of an image still on the node was removed");
        assertFalse(Files.exists(collectedLinks.getParent()), "the layer of a collected image was left");
        assertFalse(Files.exists(crashed.getParent()), "a crashed build was left");
        assertEquals(Set.of(liveLinks.getParent(), heldLinks.getParent(), keptLinks.getParent()),
                Set.copyOf(cachePaths.entries()));
        assertEquals(List.of(), cachePaths.temporaries());

        // once its view is gone, nothing holds the layer whose layers are gone
        prepared.clear();
        isolator.recover(List.of());
        assertFalse(Files.exists(paths.vmRootfsDir("held")) || Files.exists(paths.vmRootfsDir("live")));
        assertFalse(Files.exists(heldLinks.getParent()), "an unused layer of gone layers was left");
        assertTrue(Files.isDirectory(liveLinks) && Files.isDirectory(keptLinks));
    }

    /** Prepares a view of the image's rootfs for container {@code id}; returns its merged directory. */
    private Path prepare(String id) throws Exception {
        DirectPrepareContext context = context(id);
        context.put(ContainerKeys.ROOTFS, rootfs);
        context.put(ContainerKeys.IMAGE_LAYERS, layers);
        Path view = Path.of(isolator.prepare(context).getRootfs());
        prepared.add(context);
        return view;
    }

    private DirectPrepareContext context(String id) {
        Path containerDir = dir.resolve("run/containers").resolve(id);
        return new DirectPrepareContext(TestContainers.vmConfig(id).build(), containerDir,
                containerDir.resolve("isolators/x.ckpt"));
    }

}
