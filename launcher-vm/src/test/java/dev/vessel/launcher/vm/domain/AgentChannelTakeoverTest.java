package dev.vessel.launcher.vm.domain;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.linux.LibC;
import dev.vessel.linux.UnixListener;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The failures of a channel's takeover; its success is {@code VmBootTest}'s, with a real guest. */
class AgentChannelTakeoverTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void libvirt() throws Exception {
        LibvirtFixture.requireLibvirt();
    }

    @Test
    void aDomainThatIsGoneLeavesTheSocketAsItWas() throws Exception {
        Path socket = dir.resolve("agent.sock");
        int fd = UnixListener.listen(socket, 1);
        try (LibvirtDomains libvirt = new LibvirtDomains(LibvirtFixture.URI)) {
            VesselException e = assertThrows(VesselException.class,
                    () -> AgentChannelTakeover.takeBack(libvirt, UUID.randomUUID().toString(), socket));
            assertTrue(e.getMessage().contains("stopped meanwhile"), e.getMessage());
            assertTrue(Files.exists(socket), "looked up before anything is touched");
        } finally {
            LibC.close(fd);
        }
    }

    @Test
    void aFilePassedToADomainThatIsGoneFailsWithLibvirtsWords() throws Exception {
        Path socket = dir.resolve("passed.sock");
        int fd = UnixListener.listen(socket, 1);
        String uuid = UUID.randomUUID().toString();
        try (LibvirtDomains libvirt = new LibvirtDomains(LibvirtFixture.URI)) {
            VesselException e = assertThrows(VesselException.class,
                    () -> libvirt.qemuMonitorCommandWithFile(uuid, "{\"execute\":\"getfd\"}", fd));
            assertTrue(e.getMessage().contains("no domain " + uuid), e.getMessage());
            assertTrue(e.getMessage().toLowerCase().contains("domain not found"), e.getMessage());
        } finally {
            LibC.close(fd);
        }
    }
}
