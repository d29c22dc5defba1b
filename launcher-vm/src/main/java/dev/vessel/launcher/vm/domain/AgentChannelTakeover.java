package dev.vessel.launcher.vm.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.LibC;
import dev.vessel.linux.UnixListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Takes a running VM's agent channel back for a restarted daemon. QEMU's socket chardev serves one
 * connection at a time and accepts the next only once it has seen the last one close; a connection it
 * still serves (one it has not yet seen closed on a loaded host, or one some other process holds open)
 * leaves every new connection queued and then refused with EAGAIN, and the VM unreachable.
 *
 * <p>The daemon binds a new listening socket at the channel's path and has QEMU swap the chardev's
 * backend for it ({@code chardev-change}, the socket passed by {@code getfd}): QEMU closes the old
 * listener and whatever connection it served, and the guest's port sees the host reconnect. The new
 * socket is the daemon's (root's) file, as libvirt's was; QEMU's user needs no write access to the
 * task's directory.
 */
public final class AgentChannelTakeover {
    private static final String FD_NAME = "vessel-agent-channel";

    private AgentChannelTakeover() {
    }

    /** Gives the agent channel listening at {@code socket} of the running domain with this uuid a new socket. */
    public static void takeBack(LibvirtDomains libvirt, String domainUuid, Path socket) throws IOException {
        String chardev = chardevListeningAt(libvirt, domainUuid, socket);
        Files.deleteIfExists(socket); // QEMU keeps listening on its descriptor until the change below
        int fd;
        try {
            fd = UnixListener.listen(socket, 1);
        } catch (ErrnoException e) {
            throw new IOException(e.getMessage(), e);
        }
        try {
            ObjectNode getfd = Qmp.request("getfd", Qmp.arguments().put("fdname", FD_NAME));
            Qmp.checked(libvirt.qemuMonitorCommandWithFile(domainUuid, getfd.toString(), fd));
            ObjectNode change = Qmp.arguments().put("id", chardev);
            ObjectNode data = change.putObject("backend").put("type", "socket").putObject("data");
            data.putObject("addr").put("type", "fd").putObject("data").put("str", FD_NAME);
            data.put("server", true).put("wait", false);
            Qmp.call(libvirt, domainUuid, Qmp.request("chardev-change", change));
        } finally {
            LibC.close(fd); // QEMU holds its own copy
        }
    }

    /** The label of the chardev listening at {@code socket} (libvirt names it after the channel's index). */
    private static String chardevListeningAt(LibvirtDomains libvirt, String domainUuid, Path socket)
            throws IOException {
        JsonNode chardevs = Qmp.call(libvirt, domainUuid, Qmp.request("query-chardev", Qmp.arguments()));
        String prefix = "unix:" + socket + ",";
        for (JsonNode chardev : chardevs) {
            if (chardev.path("filename").asText().startsWith(prefix)) {
                return chardev.path("label").asText();
            }
        }
        throw new IOException("QEMU has no chardev listening at " + socket);
    }
}
