package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.HostPathVolume;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.PersistentVolume;
import dev.vessel.core.model.Volume;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A guest root that turns on its host, in one real VM: in a host-path volume, a persistent volume and
 * its root filesystem it plants a setuid-root program, block and character device nodes, and symlinks that point out of the
 * share, then reads through them. The guest sees what it made (its modes, its devices, its links);
 * the host sees plain files of QEMU's user with no setuid bit, no device, no symlink, and no host file
 * outside the share reaches the guest. While the task runs, QEMU is checked to run under libvirt's
 * seccomp sandbox as libvirt's unprivileged user, with no capabilities.
 */
class VmHostileGuestTest {
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFDIR = 0040000;
    private static final int S_ISUID = 04000;
    private static final int S_ISGID = 02000;

    private static VmNode node;
    private static ImageReference image;

    @BeforeAll
    static void startNode() throws Exception {
        node = VmNode.inNewDir("vessel-vmhostile-");
        image = VmNode.busyboxImage(node.dir);
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.destroyAllCloseAndDeleteDir();
        }
    }

    @Test
    void guestRootPlantsNothingOnTheHostAndReadsNothingOutsideItsShares() throws Exception {
        // A host file beside the share, and one in the host's /etc: neither may reach the guest.
        Path vol = Files.createDirectories(node.dir.resolve("shared/vol"));
        String marker = "host-only-" + UUID.randomUUID();
        Path besideShare = Files.writeString(node.dir.resolve("shared/marker"), marker + "\n");
        Path inHostEtc = Path.of("/etc", "vessel-hostile-test-" + UUID.randomUUID());
        Files.writeString(inHostEtc, marker + "\n");
        try {
            String id = "hostile";
            String script = String.join("\n",
                    "mkdir /planted",
                    "for d in /vol /kept /planted; do",
                    // a setuid-root shell, a setgid one, a disk's block device, /dev/mem's character device
                    "  cp /bin/busybox $d/suid && chown 0:0 $d/suid && chmod 4755 $d/suid",
                    "  cp /bin/busybox $d/sgid && chmod 2755 $d/sgid",
                    "  mknod $d/blk b 8 0 && mknod $d/mem c 1 1 && mkfifo $d/fifo",
                    // links out of the share, absolute (to the host's real paths) and relative
                    "  ln -s " + besideShare + " $d/abs-marker",
                    "  ln -s " + inHostEtc + " $d/abs-etc",
                    "  ln -s ../marker $d/up-marker",
                    "  ln -s /etc $d/escape",
                    "  mkdir $d/sub && chmod 6777 $d/sub",
                    "  echo \"$d $(stat -c '%a %u' $d/suid) $(stat -c '%a' $d/sgid) $(stat -c '%F %t:%T' $d/blk)"
                            + " $(stat -c '%F %t:%T' $d/mem) $(stat -c '%F' $d/fifo) $(readlink $d/escape)\"",
                    "  for f in $d/abs-marker $d/abs-etc $d/up-marker $d/../marker $d/../../marker"
                            + " $d/escape/" + inHostEtc.getFileName() + "; do cat $f; done 2>/dev/null",
                    "  ls $d/escape/ | grep -q passwd && echo \"$d/escape is the guest's /etc\"",
                    "done",
                    // the image as the guest sees it through QEMU's unprivileged user: root's, as built
                    "echo \"image $(stat -c '%u:%g %a' /bin/busybox /etc | tr '\\n' ' ')\"",
                    "echo planted; sleep 1000");
            node.containerizer.launch(ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM).setImage(image)
                    .addAllCommand(List.of("/bin/sh", "-c", script))
                    // device nodes need CAP_MKNOD, which a container lacks by default: a guest root
                    // that owns its kernel has it
                    .setCapabilities(Capabilities.newBuilder().addAdd("CAP_MKNOD"))
                    .addVolumes(Volume.newBuilder().setTarget("/vol")
                            .setHostPath(HostPathVolume.newBuilder().setPath(vol.toString())))
                    .addVolumes(Volume.newBuilder().setTarget("/kept")
                            .setPersistent(PersistentVolume.newBuilder().setName("hostile-kept")))
                    .build());
            node.awaitStdoutContains(id, "planted\n");
            String stdout = node.stdout(id);
            String stderr = node.stderr(id);

            // On the host: plain files and directories only, none setuid or setgid.
            Path rootfsWrites = node.paths.vmRootfsDir(id).resolve("upper/planted");
            for (Path share : List.of(vol, node.paths.persistentVolume("hostile-kept"), rootfsWrites)) {
                List<String> unsafe = unsafeEntries(share);
                assertEquals(List.of(), unsafe, "what the guest made reached the host as itself");
                assertEquals(S_IFREG | 0600, mode(share.resolve("suid")), "suid's host mode");
                assertEquals(S_IFREG | 0600, mode(share.resolve("blk")), "blk's host mode");
                assertEquals(S_IFDIR | 0700, mode(share.resolve("sub")), "sub's host mode");
            }

            // ... and QEMU's user's, not root's.
            for (Path share : List.of(vol, node.paths.persistentVolume("hostile-kept"), rootfsWrites)) {
                for (String planted : List.of("suid", "sgid", "blk", "mem", "sub")) {
                    assertEquals(node.launcher.qemuUser().uid(), Files.getAttribute(share.resolve(planted), "unix:uid",
                            LinkOption.NOFOLLOW_LINKS), share + "/" + planted + "'s host owner");
                }
            }
            assertTrue(stdout.contains("image 0:0 755 0:0 755 \n"), () -> "the guest sees its image otherwise:\n" + stdout);

            // The guest sees what it made: its modes and devices are kept for it (in xattrs).
            for (String d : List.of("/vol", "/kept", "/planted")) {
                assertTrue(stdout.contains(d + " 4755 0 2755 block special file 8:0 character special file 1:1"
                        + " fifo /etc\n"), () -> "the guest does not see what it made in " + d + ":\n" + stdout
                        + "\nstderr:\n" + stderr);
                assertTrue(stdout.contains(d + "/escape is the guest's /etc\n"), stdout);
            }
            assertFalse(stdout.contains(marker), () -> "a host file outside the share reached the guest:\n" + stdout);

            // QEMU runs under libvirt's seccomp sandbox (obsolete, privilege-raising, spawning and
            // resource-control system calls refused) while it serves the guest.
            long qemu = node.containerizer.status(id).getPid();
            List<String> argv = List.of(new String(Files.readAllBytes(Path.of("/proc", Long.toString(qemu), "cmdline")),
                    StandardCharsets.UTF_8).split("\0"));
            int sandbox = argv.indexOf("-sandbox");
            assertTrue(sandbox >= 0, () -> "QEMU runs without -sandbox: " + argv);
            assertEquals("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny", argv.get(sandbox + 1));
            List<String> status = Files.readAllLines(Path.of("/proc", Long.toString(qemu), "status"));
            assertTrue(status.contains("Seccomp:\t2"), "QEMU has no seccomp filter");
            // ... as libvirt's unprivileged user, real, effective, saved and filesystem ids alike
            int uid = node.launcher.qemuUser().uid();
            int gid = node.launcher.qemuUser().gid();
            assertTrue(status.contains("Uid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid), () -> "QEMU's ids: " + status);
            assertTrue(status.contains("Gid:\t" + gid + "\t" + gid + "\t" + gid + "\t" + gid), () -> "QEMU's ids: " + status);
            assertTrue(status.contains("CapEff:\t0000000000000000"), () -> "QEMU keeps capabilities: " + status);

            assertEquals(marker + "\n", Files.readString(besideShare), "the host's file was changed");
        } finally {
            Files.deleteIfExists(inHostEtc);
        }
    }

    /** Every entry below {@code share} that is not a plain file or directory, or has a setuid or setgid bit. */
    private static List<String> unsafeEntries(Path share) throws Exception {
        List<String> unsafe = new ArrayList<>();
        try (Stream<Path> entries = Files.walk(share)) {
            for (Path p : entries.toList()) {
                int mode = mode(p);
                int type = mode & S_IFMT;
                if (type != S_IFREG && type != S_IFDIR || (mode & (S_ISUID | S_ISGID)) != 0) {
                    unsafe.add(p + " " + Integer.toOctalString(mode));
                }
            }
        }
        return unsafe;
    }

    private static int mode(Path p) throws Exception {
        return (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    }
}
