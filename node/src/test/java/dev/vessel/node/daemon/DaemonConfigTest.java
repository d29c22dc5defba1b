package dev.vessel.node.daemon;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.userns.UserNamespaceMode;
import dev.vessel.isolators.cgroups.NodeLimits;
import dev.vessel.isolators.namespaces.UserNamespaceRanges;
import dev.vessel.linux.CgroupHierarchies;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's {@code --isolation} and its configuration file key; the API's bounds; node-wide limits; the
 * refusal of a host that cannot confine devices.
 */
class DaemonConfigTest {
    @TempDir
    Path dir;

    @Test
    void withoutIsolationTheHostRunsEveryIsolator() {
        assertEquals(Optional.empty(), DaemonConfig.Settings.NONE.resolve().isolation());
    }

    @Test
    void theFileNamesTheIsolatorsAndTheFlagWins() throws Exception {
        DaemonConfig.Settings file = DaemonConfig.Settings.readFile(Files.writeString(dir.resolve("vesseld.json"),
                "{\"isolation\": [\"cgroups\", \"cgroups/memory\", \"namespaces\"]}"));
        assertEquals(Optional.of(List.of("cgroups", "cgroups/memory", "namespaces")), file.resolve().isolation());

        assertEquals(Optional.of(List.of("namespaces")), isolation(List.of("namespaces")).over(file).resolve().isolation());
    }

    @Test
    void anUnknownIsolatorIsRefusedNamingItAndTheKnownOnes() {
        VesselException e = assertThrows(VesselException.class,
                () -> isolation(List.of("cgroups", "gpu/amd")).resolve());
        assertEquals("isolation", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("unknown isolator 'gpu/amd'"), e.getMessage());
        assertTrue(e.getMessage().contains("gpu/nvidia"), e.getMessage());
        assertTrue(e.getMessage().contains("cgroups/memory") && e.getMessage().contains("vm/network"), e.getMessage());
    }

    @Test
    void gpusAreDiscoveredUnderTheHostsRootsUnlessToldOtherwise() throws Exception {
        DaemonConfig.GpuHost defaults = DaemonConfig.Settings.NONE.resolve().gpuHost();
        assertEquals(new DaemonConfig.GpuHost(Path.of("/sys"), Path.of("/proc"), Path.of("/dev"),
                Path.of("/etc/ld.so.cache"), dev.vessel.isolators.gpu.NvidiaDriverFiles.HOST_BIN_DIRS), defaults);
        DaemonConfig.GpuHost set = DaemonConfig.Settings.readFile(Files.writeString(dir.resolve("vesseld.json"),
                "{\"gpu_sysfs_root\": \"/t/sys\", \"gpu_proc_root\": \"/t/proc\", \"gpu_dev_root\": \"/t/dev\","
                        + " \"gpu_ld_cache\": \"/t/ld.so.cache\", \"gpu_bin_dirs\": [\"/t/bin\"]}")).resolve().gpuHost();
        assertEquals(new DaemonConfig.GpuHost(Path.of("/t/sys"), Path.of("/t/proc"), Path.of("/t/dev"),
                Path.of("/t/ld.so.cache"), List.of(Path.of("/t/bin"))), set);
    }

    @Test
    void theApiBoundsDefaultAndANonPositiveOneIsRefusedNamingIt() throws Exception {
        DaemonConfig defaults = DaemonConfig.Settings.NONE.resolve();
        assertEquals(java.time.Duration.ofSeconds(60), defaults.apiRequestTimeout());
        assertEquals(256, defaults.apiMaxConnections());
        VesselException e = assertThrows(VesselException.class, () -> DaemonConfig.Settings.readFile(Files.writeString(
                dir.resolve("vesseld.json"), "{\"api_max_connections\": 0}")).resolve());
        assertEquals("api_max_connections", e.field().orElseThrow());
        e = assertThrows(VesselException.class, () -> DaemonConfig.Settings.readFile(Files.writeString(
                dir.resolve("vesseld.json"), "{\"api_request_timeout_seconds\": -1}")).resolve());
        assertEquals("api_request_timeout_seconds", e.field().orElseThrow());
    }

    @Test
    void theTcgCodeCacheIsQemusUnlessSetAndAnOutOfRangeOneIsRefusedNamingIt() throws Exception {
        assertEquals(0, DaemonConfig.Settings.NONE.resolve().vmTcgCodeCacheMib());
        assertEquals(32, DaemonConfig.Settings.readFile(Files.writeString(dir.resolve("vesseld.json"),
                "{\"vm_tcg_code_cache_mib\": 32}")).resolve().vmTcgCodeCacheMib());
        for (int bad : new int[] {-1, 8, 4096}) {
            DaemonConfig.Settings file = DaemonConfig.Settings.readFile(Files.writeString(dir.resolve("vesseld.json"),
                    "{\"vm_tcg_code_cache_mib\": " + bad + "}"));
            VesselException e = assertThrows(VesselException.class, file::resolve);
            assertEquals("vm_tcg_code_cache_mib", e.field().orElseThrow());
        }
    }

    @Test
    void guestTemplatesAreOffUnlessTheFileOrTheFlagTurnsThemOn() throws Exception {
        assertFalse(DaemonConfig.Settings.NONE.resolve().vmTemplates());
        assertTrue(DaemonConfig.Settings.readFile(Files.writeString(dir.resolve("vesseld.json"),
                "{\"vm_templates\": true}")).resolve().vmTemplates());
        assertFalse(DaemonConfig.Settings.readFile(Files.writeString(dir.resolve("vesseld.json"),
                "{\"vm_templates\": false}")).resolve().vmTemplates());
    }

    @Test
    void nodeLimitsAndTheDevicesOptOutComeFromTheFileAndDefaultToNone() throws Exception {
        DaemonConfig defaults = DaemonConfig.Settings.NONE.resolve();
        assertEquals(NodeLimits.NONE, defaults.nodeLimits());
        assertFalse(defaults.allowUnconfinedDevices());
        DaemonConfig set = DaemonConfig.Settings.readFile(Files.writeString(dir.resolve("vesseld.json"),
                "{\"node_memory_limit\": \"2g\", \"node_pids_limit\": 10000, \"allow_unconfined_devices\": true}"))
                .resolve();
        assertEquals(new NodeLimits(OptionalLong.of(2L << 30), OptionalLong.of(10000)), set.nodeLimits());
        assertTrue(set.allowUnconfinedDevices());
    }

    @Test
    void aBadNodeLimitIsRefusedNamingItsKey() throws Exception {
        for (String bad : List.of("{\"node_memory_limit\": \"lots\"}", "{\"node_memory_limit\": \"0\"}",
                "{\"node_pids_limit\": 0}", "{\"node_pids_limit\": -1}")) {
            DaemonConfig.Settings file = DaemonConfig.Settings.readFile(Files.writeString(dir.resolve("vesseld.json"), bad));
            VesselException e = assertThrows(VesselException.class, file::resolve, bad);
            String key = bad.substring(2, bad.indexOf('"', 2));
            assertEquals(key, e.field().orElseThrow(), bad);
        }
    }

    /** The probe's answer is injected as the hierarchies a mountinfo file describes: the host's cgroups stay. */
    @Test
    void aHostThatCannotConfineDevicesIsRefusedUnlessTheOperatorAllowsIt() throws Exception {
        Path noCgroups = Files.writeString(dir.resolve("mountinfo-none"),
                "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n");
        Optional<String> none = HostProbe.deviceConfinementUnavailable(CgroupHierarchies.detect(noCgroups));
        assertTrue(none.isPresent());
        VesselException e = assertThrows(VesselException.class, () -> HostProbe.requireDeviceConfinement(none, false));
        assertEquals("allow_unconfined_devices", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("cannot confine containers' devices: no v1 devices controller and no cgroup v2"
                + " hierarchy is mounted") && e.getMessage().contains("--allow-unconfined-devices"), e.getMessage());
        assertDoesNotThrow(() -> HostProbe.requireDeviceConfinement(none, true), "the operator's explicit choice");

        // hybrid, as on these hosts, but without a v1 devices hierarchy: the cgroup2 mount holds nothing
        // containers are placed with (its cgroup.controllers is read from the mount point: an empty directory)
        Path emptyV2 = Files.createDirectories(dir.resolve("unified"));
        Path hybrid = Files.writeString(dir.resolve("mountinfo-hybrid"), String.join("\n",
                "30 25 0:26 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids",
                "31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory",
                "32 25 0:28 / " + emptyV2 + " rw - cgroup2 cgroup2 rw", ""));
        Optional<String> hugetlbOnly = HostProbe.deviceConfinementUnavailable(CgroupHierarchies.detect(hybrid));
        assertTrue(hugetlbOnly.orElseThrow().contains("the cgroup v2 hierarchy at " + emptyV2 + " holds none of the"
                + " controllers"), hugetlbOnly::toString);
        assertThrows(VesselException.class, () -> HostProbe.requireDeviceConfinement(hugetlbOnly, false));

        // pure v2 with controllers containers are placed with: the device program, loaded here for real, confines
        Path v2 = Files.createDirectories(dir.resolve("v2"));
        Files.writeString(v2.resolve("cgroup.controllers"), "cpu memory pids\n");
        Path pureV2 = Files.writeString(dir.resolve("mountinfo-v2"), "34 25 0:30 / " + v2 + " rw - cgroup2 cgroup2 rw\n");
        assertEquals(Optional.empty(), HostProbe.deviceConfinementUnavailable(CgroupHierarchies.detect(pureV2)));

        Path withDevices = Files.writeString(dir.resolve("mountinfo-v1"),
                "33 25 0:29 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices\n");
        Optional<String> v1 = HostProbe.deviceConfinementUnavailable(CgroupHierarchies.detect(withDevices));
        assertEquals(Optional.empty(), v1);
        assertDoesNotThrow(() -> HostProbe.requireDeviceConfinement(v1, false));
    }

    @Test
    void theUserNamespaceDefaultIsHostTheFileSetsAutoAndItsIdsAndAnUnknownModeIsRefused() throws Exception {
        DaemonConfig defaults = DaemonConfig.Settings.NONE.resolve();
        assertEquals(UserNamespaceMode.HOST, defaults.usernsDefault());
        assertEquals(UserNamespaceRanges.Source.defaults(), defaults.userNamespaces());

        DaemonConfig auto = DaemonConfig.Settings.readFile(Files.writeString(dir.resolve("vesseld.json"),
                "{\"userns_default\": \"auto\", \"userns_user\": \"containers\", \"subuid_file\": \"/srv/subuid\","
                        + " \"subgid_file\": \"/srv/subgid\"}")).resolve();
        assertEquals(UserNamespaceMode.AUTO, auto.usernsDefault());
        assertEquals(new UserNamespaceRanges.Source("containers", Path.of("/srv/subuid"), Path.of("/srv/subgid"),
                UserNamespaceRanges.DEFAULT_SIZE), auto.userNamespaces());

        VesselException e = assertThrows(VesselException.class, () -> DaemonConfig.Settings.readFile(Files.writeString(
                dir.resolve("vesseld.json"), "{\"userns_default\": \"keep-id\"}")).resolve());
        assertEquals("userns_default", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("use host, auto or private"), e.getMessage());
        VesselException privateDefault = assertThrows(VesselException.class, () -> DaemonConfig.Settings.readFile(
                Files.writeString(dir.resolve("vesseld.json"), "{\"userns_default\": \"private\"}")).resolve());
        assertEquals("userns_default", privateDefault.field().orElseThrow());
        assertTrue(privateDefault.getMessage().contains("not a default"), privateDefault.getMessage());
    }

    private static DaemonConfig.Settings isolation(List<String> names) {
        return new DaemonConfig.Settings(null, null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, null, null, null, names, null, null, null, null, null, null, null, null, null, null, null, null,
                null, null);
    }
}
