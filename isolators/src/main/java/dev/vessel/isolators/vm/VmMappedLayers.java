package dev.vessel.isolators.vm;

import dev.vessel.core.paths.Trees;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.linux.Mounts;
import dev.vessel.core.spi.ImageLayers;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The mapped layers of VM rootfs views ({@link VmRootfsView}), built once per image layer chain and
 * shared read-only by every view of that image: an overlay's lower directory, never written once
 * published. A build goes to a temporary directory renamed into place, so launches of one image
 * racing each other publish one entry (the loser drops its copy) and a crash leaves only a temporary
 * directory, which {@link #sweep} removes.
 */
final class VmMappedLayers {
    private static final System.Logger LOG = System.getLogger(VmMappedLayers.class.getName());
    private final VmMappedLayersPaths paths;
    private final QemuUser qemu;

    VmMappedLayers(VmMappedLayersPaths paths, QemuUser qemu) {
        this.paths = paths;
        this.qemu = qemu;
    }

    /**
     * The mapped layer of {@code rootfs}, whose content is exactly {@code layers} merged: the published
     * one, or built from {@code rootfs} and published now. The rootfs must be as provisioned, nothing
     * having written to it (for a VM task the host writes nothing there; the guest writes to its view):
     * what is in it is shared with every later launch of the image.
     */
    Path layer(ImageLayers layers, Path rootfs) throws IOException {
        String key = VmMappedLayersPaths.key(layers);
        Path entry = paths.entry(key);
        if (Files.isDirectory(entry)) {
            return VmMappedLayersPaths.layer(entry);
        }
        if (!Files.isDirectory(paths.root())) {
            Files.createDirectories(paths.root().getParent());
            try {
                Files.createDirectory(paths.root(),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
            } catch (FileAlreadyExistsException e) {
                // a concurrent launch made it
            }
        }
        Path temp = paths.newTemporary(key);
        try {
            long start = System.nanoTime();
            Files.createDirectory(temp);
            VmRootfsView.buildMappedLayer(rootfs, Files.createDirectory(VmMappedLayersPaths.layer(temp)), qemu);
            Files.writeString(VmMappedLayersPaths.layers(temp), VmMappedLayersPaths.layersRecord(layers), StandardCharsets.UTF_8);
            try {
                Files.move(temp, entry, StandardCopyOption.ATOMIC_MOVE);
                LOG.log(Level.INFO, "built the mapped layer {0} of {1} in {2} ms", entry, rootfs,
                        (System.nanoTime() - start) / 1_000_000);
            } catch (IOException e) {
                // rename(2) refuses a non-empty target: a launch of the same image published first, and
                // its entry, made from the same layers, is this one
                if (!Files.isDirectory(entry)) {
                    throw e;
                }
            }
        } catch (Throwable failure) {
            try {
                Trees.delete(temp);
            } catch (IOException leftover) {
                failure.addSuppressed(leftover); // the build's failure is the story; recovery sweeps the rest
            }
            throw failure;
        }
        Trees.delete(temp); // the loser of a race to publish; gone already after a move
        return VmMappedLayersPaths.layer(entry);
    }

    /**
     * Removes what no launch can use: temporary directories (a crashed build or removal) and entries
     * whose layers are gone (the provisioner's garbage collection took the image), except those in
     * {@code inUse}. Only for recovery, before any launch: a build running beside it would lose its
     * temporary directory.
     */
    void sweep(Set<Path> inUse) throws IOException {
        Set<Path> used = inUse.stream().map(p -> p.toAbsolutePath().normalize()).collect(Collectors.toSet());
        for (Path temp : paths.temporaries()) {
            LOG.log(Level.INFO, "removing {0}: a mapped layer build or removal that did not finish", temp);
            Mounts.unmountTree(temp); // a build's overlay, if it crashed with it mounted
            Trees.delete(temp);
        }
        for (Path entry : paths.entries()) {
            if (used.contains(VmMappedLayersPaths.layer(entry).toAbsolutePath().normalize()) || layersPresent(entry)) {
                continue;
            }
            LOG.log(Level.INFO, "removing {0}: the mapped layer of image layers no longer on this node", entry);
            // renamed first, so that a crash halfway leaves a temporary directory, not a torn entry
            Path doomed = paths.newTemporary(entry.getFileName().toString());
            Files.move(entry, doomed, StandardCopyOption.ATOMIC_MOVE);
            Trees.delete(doomed);
        }
    }

    private static boolean layersPresent(Path entry) throws IOException {
        if (!Files.isRegularFile(VmMappedLayersPaths.layers(entry))) {
            return false; // never published so: not an entry this class made
        }
        List<Path> layers = VmMappedLayersPaths.readLayers(entry);
        return !layers.isEmpty() && layers.stream().allMatch(Files::isDirectory);
    }
}
