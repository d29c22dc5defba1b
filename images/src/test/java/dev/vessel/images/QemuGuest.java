package dev.vessel.images;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.Hello;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * One guest booted under raw QEMU (TCG, as on these machines): the console goes to a file, the agent
 * port {@code vessel.agent} is a virtio-serial port backed by a unix socket QEMU listens on.
 */
final class QemuGuest implements AutoCloseable {
    static final String QEMU = "qemu-system-x86_64";
    /** A JDK 25 initramfs unpacks in ~288 MiB; the JVM needs room on top. */
    static final int MEMORY_MIB = 512;
    /** TCG on a loaded 2-core machine: a boot takes seconds, allow minutes. */
    static final Duration TIMEOUT = Duration.ofMinutes(2);

    private final Process qemu;
    private final Path console;
    private final Path agentSocket;

    private QemuGuest(Process qemu, Path console, Path agentSocket) {
        this.qemu = qemu;
        this.console = console;
        this.agentSocket = agentSocket;
    }

    /** Fails, loudly, when QEMU is not installed: these tests must not pass without booting anything. */
    static void requireQemu() {
        boolean found = Stream.of(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .anyMatch(dir -> Files.isExecutable(Path.of(dir, QEMU)));
        assertTrue(found, QEMU + " is not on PATH: the guest boot tests need it (apt-get install qemu-system-x86)");
    }

    /** Boots {@code initrd} with the artifacts' kernel and command line plus {@code extraCmdline}. */
    static QemuGuest boot(GuestArtifacts artifacts, Path initrd, String extraCmdline, Path dir) throws IOException {
        return boot(artifacts, initrd, extraCmdline, dir, MEMORY_MIB, List.of());
    }

    /** As {@link #boot(GuestArtifacts, Path, String, Path)}, with {@code memoryMib} and more QEMU arguments. */
    static QemuGuest boot(GuestArtifacts artifacts, Path initrd, String extraCmdline, Path dir, int memoryMib,
            List<String> extraQemuArgs) throws IOException {
        requireQemu();
        Path console = dir.resolve("console.log");
        Path socket = dir.resolve("agent.sock");
        long softwareBytes = Files.size(artifacts.software());
        List<String> command = new ArrayList<>(List.of(QEMU,
                "-machine", "q35,accel=tcg,nvdimm=on", "-nodefaults", "-no-user-config",
                "-m", memoryMib + "M,slots=1,maxmem=" + (memoryMib + softwareBytes / (1 << 20)) + "M",
                // the software image as the VM launcher gives it: an unarmed NVDIMM on the file, mapped privately
                "-object", "memory-backend-file,id=software,mem-path=" + artifacts.software() + ",size=" + softwareBytes
                        + ",share=off,readonly=on",
                "-device", "nvdimm,memdev=software,unarmed=on",
                "-kernel", artifacts.kernel().toString(), "-initrd", initrd.toString(),
                "-append", (artifacts.cmdline() + " " + extraCmdline).strip(),
                "-chardev", "socket,id=agent,path=" + socket + ",server=on,wait=off",
                "-device", "virtio-serial-pci", "-device", "virtserialport,chardev=agent,name=vessel.agent",
                "-serial", "file:" + console, "-display", "none", "-no-reboot"));
        command.addAll(extraQemuArgs);
        Process qemu = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(dir.resolve("qemu.log").toFile()).start();
        return new QemuGuest(qemu, console, socket);
    }

    String console() throws IOException {
        return Files.exists(console) ? Files.readString(console, StandardCharsets.UTF_8) : "";
    }

    /** Waits until the console shows {@code text}; fails with the console when it does not come. */
    String awaitConsole(String text) throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            String seen = console();
            if (seen.contains(text)) {
                return seen;
            }
            if (!qemu.isAlive()) {
                fail("the VM ended (QEMU exit " + qemu.exitValue() + ") without \"" + text + "\" on its console:\n" + console());
            }
            Thread.sleep(50);
        }
        return fail("no \"" + text + "\" on the console within " + TIMEOUT + ":\n" + console());
    }

    /** Waits for QEMU to end by itself (the guest powered off); fails with the console if it does not. */
    int awaitPowerOff() throws Exception {
        if (!qemu.waitFor(TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            fail("the VM did not power off within " + TIMEOUT + ":\n" + console());
        }
        return qemu.exitValue();
    }

    /** Connects to the host end of the agent port (QEMU creates the socket as it starts). */
    SocketChannel connectAgentPort() throws Exception {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                channel.connect(UnixDomainSocketAddress.of(agentSocket));
                return channel;
            } catch (IOException e) {
                channel.close();
                if (!qemu.isAlive() || System.nanoTime() > deadline) {
                    fail("cannot connect to the agent port's socket " + agentSocket + ": " + e + "\n" + console());
                }
            }
            Thread.sleep(20);
        }
    }

    /** Ends the QEMU this test started (and only it). */
    @Override
    public void close() throws IOException {
        qemu.destroy();
        try {
            if (!qemu.waitFor(10, TimeUnit.SECONDS)) {
                qemu.destroyForcibly().waitFor();
            }
        } catch (InterruptedException e) {
            qemu.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(agentSocket);
    }

    /** The agent's first frame on {@code port}, which must be its hello, within {@link #TIMEOUT}. */
    Hello awaitHello(SocketChannel port) throws Exception {
        InputStream in = Channels.newInputStream(port);
        // The read blocks until the agent writes; after a time-out, closing the port ends it.
        CompletableFuture<GuestFrame> first = CompletableFuture.supplyAsync(() -> {
            try {
                return GuestFrame.parseDelimitedFrom(in);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        GuestFrame frame;
        try {
            frame = first.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            frame = fail("no frame from the agent within " + TIMEOUT + ":\n" + console());
        }
        assertNotNull(frame, "the agent port closed before the agent sent a frame:\n" + console());
        assertTrue(frame.hasHello(), "the first frame is not a hello: " + frame);
        return frame.getHello();
    }
}
