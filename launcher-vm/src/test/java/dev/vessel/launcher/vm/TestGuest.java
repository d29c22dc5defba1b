package dev.vessel.launcher.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.Hello;
import dev.vessel.core.agent.OutputChunk;
import dev.vessel.core.agent.ProtocolVersion;
import dev.vessel.core.agent.Stream;
import dev.vessel.core.agent.TaskExited;
import dev.vessel.core.agent.TaskStarted;
import dev.vessel.core.model.Termination;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Real guests for boot tests: the guest kernel built by images/ and a busybox initramfs made here,
 * whose /init plays a scripted guest agent with frames prepared on the host (a shell cannot encode
 * protobuf): say hello, wait for the host's ack and its launch request, answer started, write
 * output, report the exit, power off.
 */
final class TestGuest {
    static final Path IMAGE_CACHE = Path.of("/var/cache/vessel/images");
    static final Path BUSYBOX = Path.of("/bin/busybox");
    static final String MARKER = "VESSEL-TEST-GUEST-UP";
    static final String OUTPUT = "hello from the guest\n";
    static final int EXIT_CODE = 7;

    private TestGuest() {
    }

    /** The newest guest kernel in the image cache; fails loudly without one. */
    static Path kernel() throws IOException {
        Optional<Path> newest;
        try (java.util.stream.Stream<Path> dirs = Files.isDirectory(IMAGE_CACHE) ? Files.list(IMAGE_CACHE)
                : java.util.stream.Stream.empty()) {
            newest = dirs.filter(d -> d.getFileName().toString().startsWith("kernel-"))
                    .map(d -> d.resolve("vmlinux")).filter(Files::isRegularFile)
                    .max(Comparator.comparing(p -> p.toFile().lastModified()));
        }
        return newest.orElseThrow(() -> new AssertionError("boot tests need the guest kernel, which this module's"
                + " build makes with images/src/main/kernel/build-kernel before its tests (it lands in "
                + IMAGE_CACHE + "/kernel-*/vmlinux)"));
    }

    enum Script {
        /** Prints the marker and powers off: a guest whose agent never says hello. */
        POWER_OFF,
        /** Runs one task as described above. */
        ONE_TASK,
        /** Says hello every second (a new host connection hears it soon), answering nothing. */
        HELLO_REPEATEDLY
    }

    /** Builds the initramfs for {@code script} under {@code work}; returns the cpio file. */
    static Path initramfs(Path work, String name, Script script) throws Exception {
        assertTrue(Files.isExecutable(BUSYBOX), "boot tests need a static " + BUSYBOX + " (apt-get install busybox-static)");
        Path root = Files.createDirectories(work.resolve("initramfs-" + name));
        Files.createDirectories(root.resolve("bin"));
        Files.copy(BUSYBOX, root.resolve("bin/busybox"));
        Files.createDirectories(root.resolve("dev"));
        run(List.of("mknod", "-m", "600", root.resolve("dev/console").toString(), "c", "5", "1"));
        Path frames = Files.createDirectories(root.resolve("frames"));
        write(frames.resolve("hello"), GuestFrame.newBuilder().setHello(Hello.newBuilder()
                .setVersion(ProtocolVersion.V1).setAgentVersion("test-guest")));
        // The launch is the host's first request: the heartbeat is set far off in these tests.
        write(frames.resolve("started"), GuestFrame.newBuilder().setRequestId(1)
                .setStarted(TaskStarted.newBuilder().setPid(42)));
        write(frames.resolve("output"), GuestFrame.newBuilder().setOutput(OutputChunk.newBuilder()
                .setContainerId("boot").setStream(Stream.STDOUT).setData(ByteString.copyFromUtf8(OUTPUT))));
        write(frames.resolve("exited"), GuestFrame.newBuilder().setExited(TaskExited.newBuilder()
                .setContainerId("boot").setTermination(Termination.newBuilder().setExitCode(EXIT_CODE))));

        Path init = root.resolve("init");
        Files.writeString(init, """
                #!/bin/busybox sh
                /bin/busybox --install -s /bin
                export PATH=/bin
                mkdir -p /proc /sys
                mount -t proc proc /proc
                mount -t sysfs sys /sys
                mount -t devtmpfs dev /dev
                echo %s
                port=
                for p in /sys/class/virtio-ports/*; do
                  [ "$(cat $p/name 2>/dev/null)" = vessel.agent ] && port=/dev/${p##*/}
                done
                echo "agent port: $port"
                case %s in
                  POWER_OFF) ;;
                  ONE_TASK)
                    exec 3<>$port
                    cat /frames/hello >&3
                    head -c 3 <&3 >/dev/null   # the hello_ack: 02 12 00
                    head -c 1 <&3 >/dev/null   # the launch request has begun
                    cat /frames/started /frames/output /frames/exited >&3
                    sleep 1 ;;
                  HELLO_REPEATEDLY)
                    # the port opened afresh for each hello, and a write that a host going away left
                    # blocked given up: the hello after a reconnection must not queue behind it
                    while true; do timeout 2 sh -c "cat /frames/hello > $port"; sleep 1; done ;;
                esac
                poweroff -f
                """.formatted(MARKER, script));
        Files.setPosixFilePermissions(init, PosixFilePermissions.fromString("rwxr-xr-x"));

        Path cpio = work.resolve("initramfs-" + name + ".cpio");
        run(List.of("sh", "-c", "cd '" + root + "' && find . | cpio -o -H newc --quiet > '" + cpio + "'"));
        return cpio;
    }

    private static void write(Path file, GuestFrame.Builder frame) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            frame.build().writeDelimitedTo(out);
        }
    }

    private static void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), command + " hung");
        assertEquals(0, p.exitValue(), command + ": " + out);
    }
}
