package dev.vessel.isolators.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerKeys;
import dev.vessel.core.spi.ImageLayers;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.isolators.testing.DirectPrepareContext;
import dev.vessel.linux.DeviceNodes;
import dev.vessel.linux.Mounts;
import dev.vessel.linux.Xattrs;
import java.io.IOException;
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
 * The mapped layer shared by the VM rootfs views of one image, on real overlay mounts (as root): an
 * image's rootfs here is an overlay of two layers as the provisioner's overlay backend mounts it, the
 * top layer whiting out one of the bottom layer's symlinks.
 */
class VmMappedLayersTest {
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
        isolator = new VmRootfsIsolator(paths, QemuUser.ofHost());
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
    void theViewsOfOneImageShareOneMappedLayerBuiltOnItsFirstLaunch() throws Exception {
        Path a = prepare("a");
        Path shared = Files.readSymbolicLink(paths.vmRootfsDir("a").resolve("layer"));
        assertTrue(shared.startsWith(paths.vmMappedLayersDir()), shared + " is not in the shared cache");
        Object inode = Files.getAttribute(shared, "unix:ino");
        FileTime built = Files.getLastModifiedTime(shared.resolve("usr/bin/sh"));

        Path b = prepare("b");
        assertEquals(shared, Files.readSymbolicLink(paths.vmRootfsDir("b").resolve("layer")));
        // not rebuilt: the same directory and file, untouched
        assertEquals(inode, Files.getAttribute(shared, "unix:ino"));
        assertEquals(built, Files.getLastModifiedTime(shared.resolve("usr/bin/sh")));
        assertEquals(List.of(shared.getParent()), new VmMappedLayersPaths(paths).entries());
        assertEquals(List.of(), new VmMappedLayersPaths(paths).temporaries());

        for (Path view : List.of(a, b)) {
            assertTrue(Mounts.isMountPoint(view));
            Path sh = view.resolve("usr/bin/sh");
            assertTrue(Files.isRegularFile(sh, LinkOption.NOFOLLOW_LINKS), "usr/bin/sh is still a symlink");
            assertEquals("busybox", Files.readString(sh));
            assertEquals("usr/bin", Files.readString(view.resolve("bin")));
            assertEquals("../proc/mounts", Files.readString(view.resolve("etc/mtab")), "the top layer's link");
            // whited out by the top layer: not resurrected by the mapped layer
            assertFalse(Files.exists(view.resolve("usr/bin/gone"), LinkOption.NOFOLLOW_LINKS));
        }
        assertFalse(Files.exists(shared.resolve("usr/bin/gone"), LinkOption.NOFOLLOW_LINKS));
        // the shared layer is QEMU's user's, and holds the image's metadata only
        int qemuUid = QemuUser.ofHost().uid();
        assertEquals(qemuUid, Files.getAttribute(shared.resolve("usr/bin/busybox"), "unix:uid", LinkOption.NOFOLLOW_LINKS));
        assertTrue(Xattrs.get(shared.resolve("usr/bin/busybox"), "trusted.overlay.metacopy").isPresent());
        assertEquals(qemuUid, Files.getAttribute(shared.resolve("usr/bin/sh"), "unix:uid", LinkOption.NOFOLLOW_LINKS));

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
        assertEquals(inode, Files.getAttribute(prepare("c").getParent().resolve("layer"), "unix:ino"));
    }

    @Test
    void concurrentFirstLaunchesOfOneImagePublishOneEntry() throws Exception {
        VmMappedLayers cache = new VmMappedLayers(new VmMappedLayersPaths(paths), QemuUser.ofHost());
        int launches = 6;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(launches);
        try {
            List<Future<Path>> results = new ArrayList<>();
            for (int i = 0; i < launches; i++) {
                results.add(pool.submit(() -> {
                    start.await();
                    return cache.layer(layers, rootfs);
                }));
            }
            start.countDown();
            Set<Path> returned = new HashSet<>();
            for (Future<Path> result : results) {
                returned.add(result.get());
            }
            assertEquals(1, returned.size(), returned::toString);
            Path layer = returned.iterator().next();
            assertEquals(List.of(layer.getParent()), new VmMappedLayersPaths(paths).entries());
            assertEquals(List.of(), new VmMappedLayersPaths(paths).temporaries(), "a losing build was left");
            assertEquals("busybox", Files.readString(layer.resolve("usr/bin/sh")));
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aFailedBuildLeavesNoTemporaryAndReportsItsOwnFailure() throws Exception {
        VmMappedLayersPaths cachePaths = new VmMappedLayersPaths(paths);
        VmMappedLayers cache = new VmMappedLayers(cachePaths, QemuUser.ofHost());
        Path gone = dir.resolve("no-such-rootfs");
        IOException e = assertThrows(IOException.class, () -> cache.layer(new ImageLayers(List.of(gone)), gone));
        assertTrue(e.getMessage().contains("mount overlay"), "not the build's failure (its overlay's mount): " + e);
        assertEquals(List.of(), cachePaths.temporaries(), "a failed build was left");
        assertEquals(List.of(), cachePaths.entries(), "a failed build was published");
    }

    @Test
    void recoveryRemovesMappedLayersOfGoneLayersUnlessAViewUsesThem() throws Exception {
        VmMappedLayersPaths cachePaths = new VmMappedLayersPaths(paths);
        VmMappedLayers cache = new VmMappedLayers(cachePaths, QemuUser.ofHost());
        prepare("live");
        Path liveLayer = Files.readSymbolicLink(paths.vmRootfsDir("live").resolve("layer"));
        // an image whose layer the provisioner's garbage collection has since removed
        Path collected = Files.createDirectories(dir.resolve("collected"));
        Files.createSymbolicLink(collected.resolve("sh"), Path.of("busybox"));
        Path collectedLayer = cache.layer(new ImageLayers(List.of(collected)), collected);
        Files.delete(collected.resolve("sh"));
        Files.delete(collected);
        // an image still on the node that no container runs now
        Path kept = Files.createDirectories(dir.resolve("kept"));
        Path keptLayer = cache.layer(new ImageLayers(List.of(kept)), kept);
        // a view using a layer whose image's layers have gone from their place
        Path held = Files.createDirectories(dir.resolve("held"));
        Files.createSymbolicLink(held.resolve("sh"), Path.of("busybox"));
        Path heldLayer = cache.layer(new ImageLayers(List.of(held)), held);
        DirectPrepareContext heldContext = context("held");
        heldContext.put(ContainerKeys.ROOTFS, held);
        heldContext.put(ContainerKeys.IMAGE_LAYERS, new ImageLayers(List.of(held)));
        isolator.prepare(heldContext);
        prepared.add(heldContext);
        Files.move(held, dir.resolve("held-elsewhere"));
        // a build a crash interrupted
        Path crashed = Files.createDirectories(cachePaths.newTemporary("0".repeat(64)).resolve("layer"));

        isolator.recover(List.of(context("live"), heldContext));
        assertTrue(Files.isDirectory(liveLayer), "the layer of a running view was removed");
        assertTrue(Files.isDirectory(heldLayer), "a layer a running view holds was removed");
        assertTrue(Files.isDirectory(keptLayer), "the layer of an image still on the node was removed");
        assertFalse(Files.exists(collectedLayer.getParent()), "the layer of a collected image was left");
        assertFalse(Files.exists(crashed.getParent()), "a crashed build was left");
        assertEquals(Set.of(liveLayer.getParent(), heldLayer.getParent(), keptLayer.getParent()),
                Set.copyOf(cachePaths.entries()));
        assertEquals(List.of(), cachePaths.temporaries());

        // once its view is gone, nothing holds the layer whose layers are gone
        prepared.clear();
        isolator.recover(List.of());
        assertFalse(Files.exists(paths.vmRootfsDir("held")) || Files.exists(paths.vmRootfsDir("live")));
        assertFalse(Files.exists(heldLayer.getParent()), "an unused layer of gone layers was left");
        assertTrue(Files.isDirectory(liveLayer) && Files.isDirectory(keptLayer));
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
