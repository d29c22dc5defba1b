package dev.vessel.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.agent.ProtocolVersion;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Boots the artifacts the build placed in target/guest under raw QEMU and checks what /init promises. */
class GuestBootTest {
    static GuestArtifacts artifacts;

    @TempDir
    Path tmp;

    @BeforeAll
    static void requireArtifactsAndQemu() throws Exception {
        QemuGuest.requireQemu();
        artifacts = GuestArtifacts.load();
    }

    @Test
    void initFindsTheAgentPortAndStartsTheAgentOnItsAotCache() throws Exception {
        // vessel.debug makes init start the JVM with -Xlog:aot.
        try (QemuGuest guest = QemuGuest.boot(artifacts, artifacts.initrd(), "vessel.debug", tmp)) {
            guest.awaitConsole("vessel-init: up at");
            // the JRE and the AOT cache read in place from the NVDIMM, not copied into the guest's RAM
            guest.awaitConsole("vessel-init: software image mounted with DAX");
            guest.awaitConsole("vessel-init: agent port vessel.agent is /dev/vport");
            guest.awaitConsole("Opened AOT cache /opt/vessel/agent.aot");
            guest.awaitConsole("Using AOT-linked classes: true");
        }
    }

    @Test
    void theAgentsRootIsAMountSoPivotRootWorks() throws Exception {
        // What the launch helper does for every container: a new mount namespace, then pivot_root.
        String check = """
                #!/bin/sh
                unshare -m sh -c 'mkdir -p /tmp/new && mount -t tmpfs new /tmp/new && mkdir /tmp/new/old \\
                  && cd /tmp/new && pivot_root . old && echo "pivot-root-check: ok"' \\
                  || echo "pivot-root-check: pivot_root failed"
                """;
        Path initrd = new InitrdOverlay(tmp).file("etc/vessel/init.d/pivot-root-check", check, "rwxr-xr-x")
                .appendTo(artifacts.initrd(), tmp.resolve("initrd.cpio"));
        try (QemuGuest guest = QemuGuest.boot(artifacts, initrd, "", tmp)) {
            String console = guest.awaitConsole("pivot-root-check: ");
            guest.awaitConsole("vessel-init: starting the guest agent");
            assertTrue(console.contains("pivot-root-check: ok"), "pivot_root failed in the guest:\n" + console);
        }
    }

    @Test
    void aJvmThatCannotUseItsAotCacheStopsLoudlyAndTheVmPowersOff() throws Exception {
        // the cache is on the read-only software image: a hook binds another file over it before the agent starts
        String spoil = """
                #!/bin/sh
                echo "not an AOT cache" > /run/agent.aot && mount --bind /run/agent.aot /opt/vessel/agent.aot
                """;
        Path initrd = new InitrdOverlay(tmp).file("etc/vessel/init.d/spoil-aot-cache", spoil, "rwxr-xr-x")
                .appendTo(artifacts.initrd(), tmp.resolve("initrd.cpio"));
        try (QemuGuest guest = QemuGuest.boot(artifacts, initrd, "", tmp)) {
            String console = guest.awaitConsole("vessel-init: the guest agent exited with status 1 ");
            assertTrue(console.contains("AOT cache"), "the JVM did not say why it stopped:\n" + console);
            assertEquals(0, guest.awaitPowerOff(), "QEMU's exit status after the guest's poweroff");
        }
    }

    @Test
    void theFirstFrameOnTheAgentPortIsAHelloV1() throws Exception {
        try (QemuGuest guest = QemuGuest.boot(artifacts, artifacts.initrd(), "", tmp);
                SocketChannel port = guest.connectAgentPort()) {
            assertEquals(ProtocolVersion.V1, guest.awaitHello(port).getVersion(), "the hello's protocol version");
        }
    }
}
