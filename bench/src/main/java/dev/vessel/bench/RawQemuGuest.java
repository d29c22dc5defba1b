package dev.vessel.bench;

import dev.vessel.core.agent.GuestFrame;
import dev.vessel.launcher.vm.GuestArtifacts;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The baseline guest of the VM benchmarks: plain {@code qemu-system-x86_64} (TCG, 512 MiB, the size
 * of a VM task without a limit) direct-booting the guest kernel and initramfs with the agent's port,
 * its console in {@code dir/console.log}. Nothing of libvirt or Vessel.
 */
final class RawQemuGuest implements AutoCloseable {
    static final long MEMORY_MIB = 512;

    private final Process qemu;
    private final Path socket;
    final Path console;

    private RawQemuGuest(Process qemu, Path socket, Path console) {
        this.qemu = qemu;
        this.socket = socket;
        this.console = console;
    }

    static RawQemuGuest start(GuestArtifacts guest, Path dir) throws Exception {
        Files.createDirectories(dir);
        Path console = dir.resolve("console.log");
        Path socket = dir.resolve("agent.sock");
        List<String> command = new ArrayList<>(List.of("qemu-system-x86_64", "-machine", "q35,accel=tcg", "-nodefaults",
                "-no-user-config", "-m", Long.toString(MEMORY_MIB), "-kernel", guest.kernel().toString(),
                "-initrd", guest.initrd().toString(), "-append", guest.cmdline(),
                "-chardev", "socket,id=agent,path=" + socket + ",server=on,wait=off",
                "-device", "virtio-serial-pci", "-device", "virtserialport,chardev=agent,name=vessel.agent",
                "-serial", "file:" + console, "-display", "none", "-no-reboot"));
        if (guest.software().isPresent()) {
            // the software image as the VM launcher gives it: an unarmed NVDIMM on the file, mapped privately
            Path image = guest.software().get();
            long bytes = Files.size(image);
            command.addAll(List.of("-machine", "nvdimm=on",
                    "-m", MEMORY_MIB + "M,slots=1,maxmem=" + (MEMORY_MIB + bytes / (1 << 20)) + "M",
                    "-object", "memory-backend-file,id=software,mem-path=" + image + ",size=" + bytes
                            + ",share=off,readonly=on",
                    "-device", "nvdimm,memdev=software,unarmed=on"));
        }
        Process qemu = new ProcessBuilder(command)
                .redirectErrorStream(true).redirectOutput(dir.resolve("qemu.log").toFile()).start();
        return new RawQemuGuest(qemu, socket, console);
    }

    long pid() {
        return qemu.pid();
    }

    /** Waits for the agent's first frame on its port, which must be its hello. */
    void awaitHello() throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!Files.exists(socket)) {
            if (!qemu.isAlive() || System.nanoTime() > deadline) {
                throw new IllegalStateException("QEMU did not create its agent socket");
            }
            Thread.sleep(2);
        }
        try (SocketChannel channel = connect(deadline)) {
            InputStream in = Channels.newInputStream(channel);
            GuestFrame frame = GuestFrame.parseDelimitedFrom(in);
            if (frame == null || !frame.hasHello()) {
                throw new IllegalStateException("the guest's first frame was not a hello: " + frame);
            }
        }
    }

    /** QEMU binds its socket before it listens: a refused connection is retried while QEMU lives. */
    private SocketChannel connect(long deadline) throws Exception {
        while (true) {
            SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.connect(UnixDomainSocketAddress.of(socket));
                return channel;
            } catch (ConnectException refused) {
                channel.close();
                if (!qemu.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("QEMU does not accept on its agent socket"
                            + (qemu.isAlive() ? "" : " (it exited " + qemu.exitValue() + ")"), refused);
                }
                Thread.sleep(2);
            }
        }
    }

    @Override
    public void close() throws InterruptedException {
        qemu.destroyForcibly().waitFor();
    }
}
