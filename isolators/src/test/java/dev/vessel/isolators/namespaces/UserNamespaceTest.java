package dev.vessel.isolators.namespaces;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.HostPathVolume;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.PersistentVolume;
import dev.vessel.core.model.TmpfsVolume;
import dev.vessel.core.model.Volume;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.userns.UserNamespaceMode;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.isolators.filesystem.LinuxFilesystemIsolator;
import dev.vessel.isolators.linux.LinuxCapabilitiesIsolator;
import dev.vessel.isolators.testing.ProcessNode;
import dev.vessel.launcher.process.ProcessLauncher;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code userns=auto} on real process containers: each gets a block of the {@code vessel} user's
 * subordinate ids (from temp files here, never the host's), its rootfs and volumes idmapped so that its
 * root owns them, under directories only host root can traverse.
 */
class UserNamespaceTest {
    static final long SIZE = 65536;

    @TempDir
    Path tmp;
    Path subuid;
    Path subgid;
    RuntimePaths paths;
    Path rootfs;
    UnifiedContainerizer node;

    @BeforeEach
    void start() throws Exception {
        subuid = Files.writeString(tmp.resolve("subuid"), "someone:100000:65536\nvessel:200000:131072\n");
        subgid = Files.writeString(tmp.resolve("subgid"), "vessel:300000:131072\n");
        // Only host root may traverse to the rootfs and the volumes: the container's root gets them idmapped.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwx------"));
        ProcessNode started = ProcessNode.start(tmp.resolve("node"), "user namespace", p -> isolators(p, ranges()));
        paths = started.paths();
        rootfs = started.rootfs();
        node = started.containerizer();
    }

    @AfterEach
    void stop() {
        if (node != null) {
            node.list().stream().filter(s -> s.getState() != ContainerState.TERMINATED)
                    .forEach(s -> node.destroy(s.getId()));
        }
    }

    UserNamespaceRanges ranges() {
        return new UserNamespaceRanges(new UserNamespaceRanges.Source("vessel", subuid, subgid, SIZE));
    }

    static List<Isolator> isolators(RuntimePaths paths, UserNamespaceRanges ranges) {
        return List.of(new LinuxCapabilitiesIsolator(), new NamespacesIsolator(),
                LinuxFilesystemIsolator.withoutDockerVolumes(paths), new UserNamespaceIsolator(ranges));
    }

    ContainerConfig.Builder auto(String id, String script) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS).setUserns("auto")
                .addCommand("/bin/sh").addArgs("-c").addArgs(script).setHostRootfs(rootfs.toString());
    }

    @Test
    void rootInsideIsTheRangesBaseOutsideAndOwnsItsRootfs() throws Exception {
        ContainerStatus started = node.launch(auto("a", "cat /proc/self/uid_map /proc/self/gid_map | tr -s ' ';"
                + " stat -c %u:%g / /bin/busybox; touch /made-inside;"
                + " wc -c < /proc/timer_list; grep ' /proc/sys ' /proc/self/mountinfo | grep -c ' ro,';"
                + " echo ready; sleep 60").build());
        awaitOutput("a", "ready");

        // masked and read-only paths hold inside the user namespace too: /proc/timer_list (0400, host
        // root's, so unreadable here unmasked) is /dev/null, /proc/sys a read-only mount
        assertEquals(" 0 200000 65536\n 0 300000 65536\n0:0\n0:0\n0\n1\nready\n", stdout("a"), stderr("a"));
        // seen from the host, the task runs as the range's base, not as root
        String status = Files.readString(Path.of("/proc", Long.toString(started.getPid()), "status"));
        assertTrue(status.contains("\nUid:\t200000\t200000\t200000\t200000\n"), status);
        assertTrue(status.contains("\nGid:\t300000\t300000\t300000\t300000\n"), status);
        // what root wrote through the idmapped rootfs is host root's on disk: the tree stays unshifted
        assertEquals(0, owner(rootfs.resolve("made-inside")));
        assertEquals("0:0", ids(rootfs.resolve("made-inside")));
    }

    @Test
    void volumesAreRootsInsideAndWrittenAsHostRoot() throws Exception {
        Path hostDir = Files.createDirectories(tmp.resolve("host-dir"));
        Path readOnly = Files.createDirectories(tmp.resolve("read-only"));
        node.launch(auto("vols", "stat -c %u:%g /host /data /scratch; touch /host/h /data/d /scratch/s && echo written;"
                + " touch /ro/x || echo read-only")
                .addVolumes(Volume.newBuilder().setTarget("/host")
                        .setHostPath(HostPathVolume.newBuilder().setPath(hostDir.toString())))
                .addVolumes(Volume.newBuilder().setTarget("/ro").setReadOnly(true)
                        .setHostPath(HostPathVolume.newBuilder().setPath(readOnly.toString())))
                .addVolumes(Volume.newBuilder().setTarget("/data")
                        .setPersistent(PersistentVolume.newBuilder().setName("userns-data")))
                .addVolumes(Volume.newBuilder().setTarget("/scratch").setTmpfs(TmpfsVolume.getDefaultInstance()))
                .build());
        node.wait("vols").get(30, TimeUnit.SECONDS);

        assertEquals("0:0\n0:0\n0:0\nwritten\nread-only\n", stdout("vols"), stderr("vols"));
        assertFalse(Files.exists(readOnly.resolve("x")));
        assertEquals("0:0", ids(hostDir.resolve("h")));
        assertEquals("0:0", ids(paths.persistentVolume("userns-data").resolve("d")));
    }

    @Test
    void aNonRootUserKeepsItsIdOnDiskAndContainersOnOtherRangesSeeTheSameOwners() throws Exception {
        node.launch(auto("first", "id -u; touch /tmp/by-1000 && echo ready; sleep 60").setUser("1000:1000").build());
        awaitOutput("first", "ready");
        assertEquals("1000\nready\n", stdout("first"), stderr("first"));
        // uid 1000 inside is host uid 201000, and it is written to disk as 1000, as the image's files are
        assertEquals("1000:1000", ids(rootfs.resolve("tmp").resolve("by-1000")));

        // a second container, on the next block, sees the file with the same owner
        node.launch(auto("second", "cat /proc/self/uid_map | tr -s ' '; stat -c %u:%g /tmp/by-1000").build());
        node.wait("second").get(30, TimeUnit.SECONDS);
        assertEquals(" 0 265536 65536\n1000:1000\n", stdout("second"), stderr("second"));
    }

    @Test
    void aVolumeThatCannotBeIdmappedIsRefusedNamingItAndItsRangeIsFreed() throws Exception {
        // sysfs does not support idmapped mounts
        VesselException e = assertThrows(VesselException.class, () -> node.launch(auto("sysfs-volume", "true")
                .addVolumes(Volume.newBuilder().setTarget("/kernel").setReadOnly(true)
                        .setHostPath(HostPathVolume.newBuilder().setPath("/sys/kernel")))
                .build()));
        assertEquals("volumes", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("idmap mount /kernel (source /sys/kernel)"), e.getMessage());

        node.launch(auto("next", "cat /proc/self/uid_map | tr -s ' '").build());
        node.wait("next").get(30, TimeUnit.SECONDS);
        assertEquals(" 0 200000 65536\n", stdout("next"), "the failed launch gave its block back");
    }

    @Test
    void onTheHostsNetworkSysIsTheHostsReadOnly() throws Exception {
        // sysfs may only be mounted by the owner of the network namespace: the launcher binds the host's
        node.launch(auto("host-net", "cat /proc/self/uid_map | tr -s ' '; ls /sys/kernel > /dev/null && echo sys;"
                + " touch /sys/x 2>/dev/null || echo sys-read-only")
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("host")).build());
        node.wait("host-net").get(30, TimeUnit.SECONDS);
        assertEquals(" 0 200000 65536\nsys\nsys-read-only\n", stdout("host-net"), stderr("host-net"));
    }

    @Test
    void concurrentContainersGetDisjointRangesAndAFreedRangeIsReused() throws Exception {
        node.launch(auto("one", "cat /proc/self/uid_map | tr -s ' '; echo ready; sleep 60").build());
        node.launch(auto("two", "cat /proc/self/uid_map | tr -s ' '; echo ready; sleep 60").build());
        awaitOutput("one", "ready");
        awaitOutput("two", "ready");
        assertEquals(" 0 200000 65536\nready\n", stdout("one"));
        assertEquals(" 0 265536 65536\nready\n", stdout("two"));

        // both blocks of the range are taken: a third container is refused, naming the field
        VesselException full = assertThrows(VesselException.class, () -> node.launch(auto("three", "true").build()));
        assertEquals("userns", full.field().orElseThrow());
        assertTrue(full.getMessage().contains("in use"), full.getMessage());

        node.destroy("one");
        node.launch(auto("again", "cat /proc/self/uid_map | tr -s ' '").build());
        node.wait("again").get(30, TimeUnit.SECONDS);
        assertEquals(" 0 200000 65536\n", stdout("again"));
    }

    @Test
    void aRestartedNodeRebuildsTheAllocationsFromCheckpoints() throws Exception {
        node.launch(auto("before", "echo ready; sleep 60").build());
        awaitOutput("before", "ready");

        // a new daemon on the same directories, with an allocator that starts empty
        UnifiedContainerizer restarted = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(ProcessLauncher.withBundledHelper(paths))
                .isolators(isolators(paths, ranges()))
                .build();
        restarted.recover();
        node = restarted;
        assertEquals(ContainerState.RUNNING, node.status("before").getState());

        node.launch(auto("after", "cat /proc/self/uid_map | tr -s ' '").build());
        node.wait("after").get(30, TimeUnit.SECONDS);
        assertEquals(" 0 265536 65536\n", stdout("after"));
    }

    @Test
    void withoutSubordinateIdsAutoIsRefusedAndNothingIsCreated() throws Exception {
        Files.writeString(subuid, "someone:100000:65536\n");

        VesselException e = assertThrows(VesselException.class, () -> node.launch(auto("refused", "true").build()));

        assertEquals("userns", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("vessel:100000:") && e.getMessage().contains(subuid.toString()),
                e.getMessage());
        assertTrue(node.list().stream().noneMatch(s -> s.getId().equals("refused")));
        assertFalse(Files.exists(paths.containerDir(List.of("refused"))));
    }

    @Test
    void hostKeepsTheHostsNamespaceAndTheNodeDefaultAppliesToAConfigThatNamesNone() throws Exception {
        node.launch(auto("host", "cat /proc/self/uid_map | tr -s ' '").setUserns("host").build());
        node.wait("host").get(30, TimeUnit.SECONDS);
        assertEquals(" 0 0 4294967295\n", stdout("host"));

        UnifiedContainerizer autoByDefault = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(ProcessLauncher.withBundledHelper(paths))
                .isolators(isolators(paths, ranges()))
                .userNamespaceDefault(UserNamespaceMode.AUTO)
                .build();
        autoByDefault.recover();
        node = autoByDefault;
        node.launch(auto("defaulted", "cat /proc/self/uid_map | tr -s ' '").clearUserns().build());
        node.wait("defaulted").get(30, TimeUnit.SECONDS);
        assertEquals(" 0 200000 65536\n", stdout("defaulted"));
    }

    void awaitOutput(String id, String line) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!stdout(id).contains(line + "\n")) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " did not print '" + line + "': stdout " + stdout(id) + ", stderr "
                        + stderr(id));
            }
            Thread.sleep(20);
        }
    }

    String stdout(String id) throws IOException {
        return read(paths.stdoutLog(paths.containerDir(List.of(id))));
    }

    String stderr(String id) throws IOException {
        return read(paths.stderrLog(paths.containerDir(List.of(id))));
    }

    static String read(Path file) throws IOException {
        return Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
    }

    static int owner(Path file) throws IOException {
        return (int) Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    static String ids(Path file) throws IOException {
        return Files.getAttribute(file, "unix:uid", LinkOption.NOFOLLOW_LINKS) + ":"
                + Files.getAttribute(file, "unix:gid", LinkOption.NOFOLLOW_LINKS);
    }
}
