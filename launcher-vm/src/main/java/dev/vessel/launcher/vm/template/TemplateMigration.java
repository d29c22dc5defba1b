package dev.vessel.launcher.vm.template;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.vm.domain.LibvirtDomains;
import dev.vessel.linux.PosixAcls;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Saving a template's guest and restoring a clone, through QEMU's migration: commands libvirt passes to QEMU's
 * monitor as they are (libvirt 9.0 has no call that saves without the guest's RAM, nor one that restores a state
 * into a guest it started itself), which libvirt notes by marking the domain tainted ({@code custom-monitor}).
 * Both turn on {@code x-ignore-shared}: the RAM and the software image are mapped shared in the template's
 * QEMU, so the stream holds only the devices' state and a little firmware memory (well under a MiB).
 */
public final class TemplateMigration {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String IGNORE_SHARED = """
            {"execute":"migrate-set-capabilities",\
            "arguments":{"capabilities":[{"capability":"x-ignore-shared","state":true}]}}""";
    private static final Duration POLL_EVERY = Duration.ofMillis(2);

    private TemplateMigration() {
    }

    /**
     * Saves the running template guest of domain {@code uuid}: its QEMU streams its state to {@code socket}, which
     * this daemon copies into {@link GuestTemplate#state} in {@code dir}; the guest ends paused (the caller destroys
     * it). {@code runDir}: the top of the socket's directories, which QEMU's user is let search.
     */
    public static void save(LibvirtDomains libvirt, String uuid, Path dir, Path socket, Path runDir, QemuUser qemu,
            Duration timeout) throws IOException, InterruptedException {
        Files.createDirectories(socket.getParent());
        if (!socket.getParent().equals(dir)) {
            qemu.allowSearch(runDir, socket.getParent());
        }
        Path state = GuestTemplate.state(dir);
        Path partial = dir.resolve(".state.partial");
        Files.deleteIfExists(socket);
        try (ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listener.bind(UnixDomainSocketAddress.of(socket));
            qemu.allow(socket, PosixAcls.READ | PosixAcls.WRITE);
            CompletableFuture<Void> copied = CompletableFuture.runAsync(() -> {
                try (SocketChannel stream = listener.accept(); InputStream in = Channels.newInputStream(stream)) {
                    Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
            command(libvirt, uuid, IGNORE_SHARED);
            command(libvirt, uuid, JSON.createObjectNode().put("execute", "migrate")
                    .set("arguments", JSON.createObjectNode().put("uri", "unix:" + socket)).toString());
            try {
                copied.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                throw failure(uuid, "its state was not saved within " + timeout.toSeconds() + " s");
            } catch (ExecutionException e) {
                throw failure(uuid, "its state could not be read: " + e.getCause().getMessage());
            }
            awaitStatus(libvirt, uuid, "query-migrate", "completed", timeout);
            Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rw-------"));
            qemu.allow(partial, PosixAcls.READ); // a clone's QEMU reads it: root's and QEMU's user's, no one else's
            Files.move(partial, state, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(socket);
            Files.deleteIfExists(partial);
        }
    }

    /**
     * Restores the clone of domain {@code uuid}, whose QEMU waits for its state (the wrapper started it with
     * {@code -incoming defer} and the state open as descriptor 3); returns once the guest runs. libvirt has
     * already told QEMU to run (it started the domain), which QEMU keeps for the end of the restore.
     */
    public static void restore(LibvirtDomains libvirt, String uuid, Duration timeout) throws InterruptedException {
        command(libvirt, uuid, IGNORE_SHARED);
        command(libvirt, uuid, """
                {"execute":"migrate-incoming","arguments":{"uri":"fd:3"}}""");
        awaitStatus(libvirt, uuid, "query-status", "running", timeout);
    }

    /** Polls {@code query} until its {@code status} is {@code wanted}; fails at once on a failed migration. */
    private static void awaitStatus(LibvirtDomains libvirt, String uuid, String query, String wanted, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        String status = "";
        while (System.nanoTime() < deadline) {
            status = command(libvirt, uuid, "{\"execute\":\"" + query + "\"}").path("status").asText();
            if (status.equals(wanted)) {
                return;
            }
            if (status.equals("failed") || status.equals("internal-error") || status.equals("shutdown")) {
                break;
            }
            Thread.sleep(POLL_EVERY);
        }
        throw failure(uuid, query + " says '" + status + "', not '" + wanted + "'");
    }

    /** Sends one command; its {@code return}, or a failure with QEMU's error. */
    private static JsonNode command(LibvirtDomains libvirt, String uuid, String json) {
        String answer = libvirt.qemuMonitorCommand(uuid, json)
                .orElseThrow(() -> failure(uuid, "its domain is gone"));
        try {
            JsonNode reply = JSON.readTree(answer);
            if (reply.has("error")) {
                throw failure(uuid, json + ": " + reply.path("error").path("desc").asText(answer));
            }
            return reply.path("return");
        } catch (IOException e) {
            throw failure(uuid, "QEMU's answer " + answer + " is not JSON");
        }
    }

    private static VesselException failure(String uuid, String why) {
        return new VesselException(ErrorCode.INTERNAL, "vm", "guest template (domain " + uuid + "): " + why);
    }
}
