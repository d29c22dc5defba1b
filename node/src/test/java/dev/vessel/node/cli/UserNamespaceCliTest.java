package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code vesseld --userns-default auto} and {@code vessel run --userns}: a container from an image runs
 * in its own user namespace on an overlay of idmapped layers the launcher mounts (none on the host); the
 * subordinate ids come from temp files, never the host's.
 */
class UserNamespaceCliTest {
    @TempDir
    static Path tmp;
    static CliNode node;
    static Path rootfs;
    static Path stateDir;
    static String image;

    @BeforeAll
    static void startDaemon() throws Exception {
        Path subuid = Files.writeString(tmp.resolve("subuid"), "vessel:400000:65536\n");
        Path subgid = Files.writeString(tmp.resolve("subgid"), "vessel:500000:65536\n");
        stateDir = tmp.resolve("node").resolve("state");
        node = CliNode.start(tmp, "userns", "--userns-default", "auto", "--subuid-file", subuid.toString(),
                "--subgid-file", subgid.toString());
        rootfs = node.rootfs();
        Path layout = tmp.resolve("layout");
        umoci("init", "--layout", layout.toString());
        umoci("new", "--image", layout + ":bb");
        umoci("insert", "--image", layout + ":bb", rootfs.toString(), "/");
        image = "oci:" + layout + ":bb";
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    @Test
    void anImageRunsOnIdmappedLayersByDefault() throws Exception {
        CliNode.Result run = vessel("run", "-d", "--name", "auto-image", image, "sh", "-c",
                "cat /proc/self/uid_map | tr -s ' '; stat -c %u:%g / /bin/busybox; echo hi > /etc/written;"
                        + " stat -c %u:%g /etc/written; echo ready; exec sleep 300");
        assertEquals(0, run.code(), run::toString);
        String out = awaitLogs("auto-image", "ready");
        assertEquals(" 0 400000 65536\n0:0\n0:0\n0:0\nready\n", out);

        JsonNode inspected = inspect("auto-image");
        assertEquals("auto", inspected.at("/config/userns").asText(), "the node's default is recorded");
        long pid = inspected.at("/status/pid").asLong();
        String status = Files.readString(Path.of("/proc", Long.toString(pid), "status"));
        assertTrue(status.contains("\nUid:\t400000\t400000\t400000\t400000\n"), status);
        // the container's write lands in its upper layer as host root's; the layers stay unshifted
        Path written = stateDir.resolve("rootfs").resolve("auto-image").resolve("overlay").resolve("upper")
                .resolve("etc").resolve("written");
        assertEquals(0, Files.getAttribute(written, "unix:uid", LinkOption.NOFOLLOW_LINKS));
        // the overlay lives in the container's mount namespace only
        String rootfsDir = stateDir.resolve("rootfs").resolve("auto-image").toString();
        try (Stream<String> mounts = Files.lines(Path.of("/proc/self/mountinfo"))) {
            assertFalse(mounts.anyMatch(l -> l.contains(rootfsDir)), "an overlay is mounted on the host");
        }
        assertEquals(0, vessel("rm", "-f", "auto-image").code());
    }

    /** devtmpfs cannot be idmapped: a host device reaches an idmapped rootfs as the host's node, bound as it is. */
    @Test
    void aHostDeviceReachesATaskOnIdmappedLayers() {
        CliNode.Result r = vessel("run", "--rm", "--device", "/dev/zero:/dev/myzero:r", image, "sh", "-c",
                "head -c 4 /dev/myzero | od -An -tx1 | tr -s ' '; stat -c %u /dev/myzero");
        assertEquals(0, r.code(), r::toString);
        assertEquals(" 00 00 00 00\n65534\n", r.out(), "the host's root owns it, unmapped here: " + r);
    }

    @Test
    void hostOptsOutAndABadModeOrAVmTaskIsRefusedNamingTheField() {
        CliNode.Result host = vessel("run", "--rm", "--userns", "host", image, "sh", "-c",
                "cat /proc/self/uid_map | tr -s ' '");
        assertEquals(0, host.code(), host::toString);
        assertEquals(" 0 0 4294967295\n", host.out());

        CliNode.Result bad = vessel("run", "--rm", "--userns", "keep-id", image, "true");
        assertNotEquals(0, bad.code(), bad::toString);
        assertTrue(bad.err().contains("userns") && bad.err().contains("use host, auto or private"), bad::toString);

        CliNode.Result vm = vessel("run", "--rm", "--vm", "--userns", "auto", "--rootfs",
                rootfs.toString(), "true");
        assertNotEquals(0, vm.code(), vm::toString);
        assertTrue(vm.err().contains("userns") && vm.err().contains("process containers"), vm::toString);
    }

    @Test
    void aRestartedDaemonKnowsTheRangesItsRunningContainersHold() throws Exception {
        assertEquals(0, vessel("run", "-d", "--name", "holder", image, "sh", "-c", "echo ready; exec sleep 300").code());
        awaitLogs("holder", "ready");

        // the range file holds one block, which holder keeps across a crash of the daemon
        node.kill9AndRestart();
        assertEquals("RUNNING", inspect("holder").at("/status/state").asText());
        CliNode.Result refused = vessel("run", "--rm", image, "true");
        assertNotEquals(0, refused.code(), refused::toString);
        assertTrue(refused.err().contains("userns") && refused.err().contains("in use"), refused::toString);

        assertEquals(0, vessel("rm", "-f", "holder").code());
        CliNode.Result freed = vessel("run", "--rm", image, "sh", "-c", "cat /proc/self/uid_map | tr -s ' '");
        assertEquals(0, freed.code(), freed::toString);
        assertEquals(" 0 400000 65536\n", freed.out());
    }

    static CliNode.Result vessel(String... args) {
        return node.vessel(args);
    }

    static JsonNode inspect(String id) throws Exception {
        CliNode.Result r = vessel("inspect", "--json", id);
        assertEquals(0, r.code(), r::toString);
        return VesselCliTest.JSON.readTree(r.out());
    }

    static void umoci(String... args) throws Exception {
        Process p = new ProcessBuilder(Stream.concat(Stream.of("umoci"), Stream.of(args)).toList())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "umoci " + String.join(" ", args) + " (apt-get install umoci):\n" + out);
    }

    static String awaitLogs(String id, String line) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (true) {
            CliNode.Result logs = vessel("logs", id);
            if (logs.out().contains(line + "\n")) {
                return logs.out();
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " did not print '" + line + "': " + logs + inspect(id));
            }
            Thread.sleep(100);
        }
    }
}
