package dev.vessel.guest;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The guest's block devices, found by the serial the host gave each disk. A guest has no udev (no
 * {@code /dev/disk/by-id}), so the serial is read where virtio-blk publishes it,
 * {@code /sys/block/<name>/serial}, and the device is {@code /dev/<name>} (devtmpfs creates it).
 */
final class BlockDevices {
    static final BlockDevices GUEST = new BlockDevices(Path.of("/sys/block"), Path.of("/dev"));

    private final Path sysBlock;
    private final Path devDir;

    /** @param sysBlock where the kernel lists block devices; @param devDir where their nodes are */
    BlockDevices(Path sysBlock, Path devDir) {
        this.sysBlock = sysBlock;
        this.devDir = devDir;
    }

    /** The device node of the disk with this serial, if the guest has one. */
    Optional<Path> bySerial(String serial) throws IOException {
        if (!Files.isDirectory(sysBlock)) {
            return Optional.empty();
        }
        try (DirectoryStream<Path> devices = Files.newDirectoryStream(sysBlock)) {
            for (Path device : devices) {
                Path file = device.resolve("serial");
                if (Files.isReadable(file) && Files.readString(file).strip().equals(serial)) {
                    return Optional.of(devDir.resolve(device.getFileName().toString()));
                }
            }
        }
        return Optional.empty();
    }
}
