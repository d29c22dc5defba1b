package dev.vessel.guest;

import java.io.BufferedInputStream;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;

/**
 * The agent's virtio-serial port. Linux's virtio_console gives a port these semantics, which make
 * reconnection simple: while the host side is disconnected a read returns 0 (end of stream) and a
 * write blocks until the host connects again. So the port is opened once and kept open: after an end
 * of stream the next connection's hello simply waits in write(2) for the host to come back. A port
 * can be open only once at a time (EBUSY), another reason not to reopen it.
 */
final class VirtioPort implements Transport {
    /** The name libvirt's {@code <channel><target name=.../>} gives the port. */
    static final String PORT_NAME = "vessel.agent";
    static final Path SYSFS_PORTS = Path.of("/sys/class/virtio-ports");

    private final Path device;
    private RandomAccessFile port;

    VirtioPort(Path device) {
        this.device = device;
    }

    /**
     * Finds the port named {@code name} under {@code sysfsPorts} (each {@code vportNpM/name} holds a
     * port's name; its device is {@code /dev/vportNpM}, as there is no udev to make a by-name link),
     * waiting up to {@code patience} for the virtio driver to bring it up.
     */
    static VirtioPort find(Path sysfsPorts, String name, Duration patience) throws IOException {
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            Optional<Path> device = lookup(sysfsPorts, name);
            if (device.isPresent()) {
                return new VirtioPort(device.get());
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("no virtio-serial port named '" + name + "' under " + sysfsPorts + " after "
                        + patience.toMillis() + " ms: does the VM have the agent channel?");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for the agent port", e);
            }
        }
    }

    static Optional<Path> lookup(Path sysfsPorts, String name) throws IOException {
        if (!Files.isDirectory(sysfsPorts)) {
            return Optional.empty();
        }
        try (DirectoryStream<Path> ports = Files.newDirectoryStream(sysfsPorts)) {
            for (Path p : ports) {
                Path nameFile = p.resolve("name");
                if (Files.isReadable(nameFile) && Files.readString(nameFile).trim().equals(name)) {
                    return Optional.of(Path.of("/dev").resolve(p.getFileName().toString()));
                }
            }
        }
        return Optional.empty();
    }

    /** The open port's streams; the port stays open when a connection ends (see the class comment). */
    @Override
    public synchronized Connection connect() throws IOException {
        if (port == null) {
            port = new RandomAccessFile(device.toFile(), "rw");
        }
        return new Connection(new BufferedInputStream(new PortInputStream(port.getFD())),
                new FileOutputStream(port.getFD()), () -> { });
    }

    /**
     * Reads the port. It cannot say how much is waiting: virtio_console has no FIONREAD, and
     * FileInputStream's fallback, lseek(2), fails on a port with "Illegal seek". BufferedInputStream
     * and protobuf both ask, so the answer is 0 (nothing known to be readable without blocking).
     */
    private static final class PortInputStream extends FileInputStream {
        PortInputStream(FileDescriptor fd) {
            super(fd);
        }

        @Override
        public int available() {
            return 0;
        }
    }
}
