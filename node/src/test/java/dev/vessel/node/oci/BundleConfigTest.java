package dev.vessel.node.oci;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.hooks.ContainerHooks;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Device;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Volume;
import dev.vessel.core.seccomp.SeccompProfile;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/** config.json → ContainerConfig: podman 4.3's own config, section by section, and each refusal naming its path. */
class BundleConfigTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path BUNDLE = Path.of("/var/lib/bundles/b1");

    /** The config.json podman 4.3 wrote here for {@code podman run --rm IMAGE echo hi} (ids and paths replaced). */
    private static ObjectNode podmanConfig() throws Exception {
        try (InputStream in = BundleConfigTest.class.getResourceAsStream("podman-4.3-config.json")) {
            return (ObjectNode) JSON.readTree(in);
        }
    }

    private static ContainerConfig translate(JsonNode config) {
        return BundleConfig.translate("c1", BUNDLE, config, Isolation.PROCESS);
    }

    /** As {@code vessel-runtime --vm} translates it. */
    private static ContainerConfig translateForVm(JsonNode config) {
        return BundleConfig.translate("c1", BUNDLE, config, Isolation.VM);
    }

    @Test
    void theAnnotationOrTheRuntimesDefaultMakesAVmContainerWithTheSameConfig() throws Exception {
        ObjectNode config = podmanConfig();
        ObjectNode resources = (ObjectNode) config.path("linux").path("resources");
        resources.putObject("memory").put("limit", 600L << 20);
        resources.putObject("cpu").put("quota", 150_000).put("period", 100_000);
        ContainerConfig vm = translateForVm(config);
        assertEquals(Isolation.VM, vm.getIsolation());
        // podman's namespace: the guest gets a NIC on each of its interfaces but loopback (vm/network)
        assertEquals(0, vm.getNetworksCount());
        assertEquals("/run/netns/netns-test", vm.getNetworkNamespacePath());
        assertTrue(vm.getHostRootfs().endsWith("/merged"), vm.getHostRootfs());
        assertTrue(vm.getVm().getKeepRootfsOwners(), "the engine's layer is written with the guest's owners");
        assertEquals(List.of("echo", "hi"), vm.getCommandList());
        // podman's binds, files included (each shared into the guest alone)
        assertEquals(List.of("/etc/resolv.conf", "/etc/hosts", "/dev/shm", "/run/.containerenv", "/etc/hostname"),
                vm.getVolumesList().stream().map(Volume::getTarget).toList());
        // but its shareable IPC's /dev/shm cannot cross the VM's boundary: a tmpfs of the guest's
        Volume shm = vm.getVolumes(2);
        assertTrue(shm.hasTmpfs() && shm.getTmpfs().getSizeBytes() == 64L << 20 && shm.getTmpfs().getMode() == 01777,
                shm.toString());
        // the guest's size follows from these (VmSizing): 600 MiB and the guest's overhead, 2 vCPUs
        assertEquals(600L << 20, vm.getResources().getMemoryBytes());
        assertEquals(1.5, vm.getResources().getCpus());

        ((ObjectNode) config.get("annotations")).put(BundleConfig.ISOLATION_ANNOTATION, "process");
        assertEquals(Isolation.PROCESS, translateForVm(config).getIsolation());
        assertFalse(translateForVm(config).hasVm(), "VM options on a process container");
        ((ObjectNode) config.get("annotations")).put(BundleConfig.ISOLATION_ANNOTATION, "vm");
        assertEquals(Isolation.VM, BundleConfig.translate("c1", BUNDLE, config, Isolation.PROCESS).getIsolation());
    }

    @Test
    void whatAVmCannotHonourIsRefusedNamingTheJsonPath() throws Exception {
        VesselException badValue = assertThrows(VesselException.class, () -> {
            ObjectNode config = podmanConfig();
            ((ObjectNode) config.get("annotations")).put(BundleConfig.ISOLATION_ANNOTATION, "kvm");
            translate(config);
        });
        assertTrue(badValue.getMessage().startsWith("config.json: annotations[\"dev.vessel.isolation\"]: 'kvm'"),
                badValue.getMessage());

        ObjectNode hostNetwork = podmanConfig();
        ((ArrayNode) hostNetwork.path("linux").path("namespaces")).remove(1);
        refusedInVm("linux.namespaces: has no network namespace", hostNetwork);
        ObjectNode createHook = podmanConfig();
        createHook.putObject("hooks").putArray("createContainer").addObject().put("path", "/bin/true");
        createHook.with("hooks").putArray("startContainer").addObject().put("path", "/bin/true");
        String kept = translateForVm(createHook).getLabelsMap().get(ContainerHooks.LABEL);
        assertTrue(kept.contains("createContainer") && kept.contains("startContainer"),
                "createContainer runs on the host in QEMU's namespaces, startContainer in the guest: " + kept);
    }

    private static void refusedInVm(String pathAndMore, ObjectNode config) {
        VesselException e = assertThrows(VesselException.class,
                () -> BundleConfig.translate("c1", BUNDLE, config, Isolation.VM), pathAndMore);
        assertTrue(e.getMessage().startsWith("config.json: " + pathAndMore), e.getMessage());
    }

    @Test
    void podmansConfigBecomesAProcessContainer() throws Exception {
        ContainerConfig c = translate(podmanConfig());

        assertEquals("c1", c.getId());
        assertEquals(List.of("echo", "hi"), c.getCommandList());
        assertTrue(c.getEnvList().stream().anyMatch(e -> e.getName().equals("container") && e.getValue().equals("podman")));
        assertEquals("/", c.getWorkingDir());
        assertEquals("0:0", c.getUser());
        assertTrue(c.getHostRootfs().endsWith("/merged"), c.getHostRootfs());
        assertEquals("0123456789ab", c.getHostname());
        // podman's set is Vessel's default and three more
        assertEquals(List.of("CAP_AUDIT_WRITE", "CAP_MKNOD", "CAP_NET_RAW"), c.getCapabilities().getAddList());
        assertEquals(List.of(), c.getCapabilities().getDropList());
        assertEquals("/run/netns/netns-test", c.getNetworkNamespacePath());
        assertEquals(0, c.getNetworksCount());
        assertEquals(2048, c.getResources().getPids());
        assertTrue(c.getSeccomp().getProfileJson().contains("\"defaultAction\""));
        SeccompProfile.parse(c.getSeccomp().getProfileJson()); // Vessel's parser takes podman's profile
        assertTrue(c.getPathRules().getMaskedList().contains("/sys/dev/block"));
        assertTrue(c.getPathRules().getReadonlyList().contains("/proc/sys"));
        assertEquals(BUNDLE.toString(), c.getLabelsOrThrow(BundleConfig.BUNDLE_LABEL));
        assertTrue(c.getLabelsOrThrow(BundleConfig.ANNOTATIONS_LABEL).contains("io.podman.annotations.autoremove"));
        // the binds podman makes: resolv.conf, hosts, /dev/shm (nosuid, noexec, nodev), .containerenv, hostname
        List<String> binds = c.getVolumesList().stream().filter(Volume::hasHostPath).map(Volume::getTarget).toList();
        assertEquals(List.of("/etc/resolv.conf", "/etc/hosts", "/dev/shm", "/run/.containerenv", "/etc/hostname"), binds);
        Volume shm = c.getVolumesList().get(2);
        assertEquals(List.of("nosuid", "noexec", "nodev"), shm.getHostPath().getOptionsList());
        assertFalse(shm.getReadOnly());
    }

    @Test
    void sysctlsBecomeTheConfigsForTheDaemonToCheck() throws Exception {
        ObjectNode config = podmanConfig();
        linux(config).putObject("sysctl").put("net.ipv4.ping_group_range", "0 0").put("kernel.pid_max", "1");
        assertEquals(java.util.Map.of("net.ipv4.ping_group_range", "0 0", "kernel.pid_max", "1"),
                translate(config).getSysctlsMap(), "kernel.pid_max is the validator's to refuse, naming it");
        assertTrue(translate(podmanConfig()).getSysctlsMap().isEmpty());
    }

    /** What containerd's CRI gives a Kubernetes pod's container: its sandbox's IPC and UTS (and pid) to join. */
    @Test
    void namespacesWithAPathAreJoined() throws Exception {
        ObjectNode config = podmanConfig();
        namespace(config, 0).put("path", "/proc/4242/ns/pid");
        namespace(config, 2).put("path", "/proc/4242/ns/ipc");
        namespace(config, 3).put("path", "/proc/4242/ns/uts");
        config.remove("hostname");
        assertEquals(java.util.Map.of("pid", "/proc/4242/ns/pid", "ipc", "/proc/4242/ns/ipc", "uts",
                "/proc/4242/ns/uts"), translate(config).getNamespacePathsMap());
        assertTrue(translate(podmanConfig()).getNamespacePathsMap().isEmpty(), "listed without a path: new ones");
    }

    @Test
    void withoutANetworkNamespaceTheHostsIsSharedAndANewOneIsPrivate() throws Exception {
        ObjectNode config = podmanConfig();
        ArrayNode namespaces = (ArrayNode) config.path("linux").path("namespaces");
        namespaces.remove(1);
        assertEquals("host", translate(config).getNetworks(0).getNetwork());
        namespaces.addObject().put("type", "network");
        ContainerConfig own = translate(config);
        assertEquals(0, own.getNetworksCount());
        assertEquals("", own.getNetworkNamespacePath());
    }

    @Test
    void resourcesBecomeVesselsLimits() throws Exception {
        ObjectNode config = podmanConfig();
        ObjectNode resources = (ObjectNode) config.path("linux").path("resources");
        resources.putObject("memory").put("limit", 64L << 20).put("swap", 128L << 20);
        resources.putObject("cpu").put("quota", 50_000).put("period", 100_000).put("cpus", "0-1").put("mems", "0");
        resources.putObject("pids").put("limit", 0);
        // what Kubernetes sends for every container: a limit for each of the node's page sizes
        resources.putArray("hugepageLimits").add(JSON.createObjectNode().put("pageSize", "2MB").put("limit", 4L << 20))
                .add(JSON.createObjectNode().put("pageSize", "1GB").put("limit", 0));
        ContainerConfig c = translate(config);
        assertEquals(64L << 20, c.getResources().getMemoryBytes());
        assertEquals(0.5, c.getResources().getCpus());
        assertEquals("0-1", c.getResources().getCpusetCpus());
        assertEquals("0", c.getResources().getCpusetMems());
        assertEquals(java.util.Map.of("2MB", 4L << 20, "1GB", 0L), c.getResources().getHugepageLimitsMap());
        assertEquals(-1, c.getResources().getPids());

        // a kubelet's container without a CPU limit: its request as shares, its CFS period and no quota
        resources.putObject("cpu").put("shares", 256).put("period", 100_000);
        resources.putObject("memory").put("limit", -1);
        c = translate(config);
        assertEquals(0, c.getResources().getCpus(), "a period alone is no limit");
        assertEquals(256, c.getResources().getCpuShares());
        assertEquals(0, c.getResources().getMemoryBytes(), "-1: no memory limit");
    }

    /**
     * containerd denies every device, then lists the standard ones again, and asks for the default weight;
     * runc spec gives root ambient capabilities.
     */
    @Test
    void containerdsAndRuncSpecsDefaultsAreAccepted() throws Exception {
        ObjectNode config = podmanConfig();
        ObjectNode resources = (ObjectNode) config.path("linux").path("resources");
        ArrayNode devices = resources.putArray("devices");
        devices.addObject().put("allow", false).put("access", "rwm");
        for (int[] device : new int[][] {{1, 3}, {1, 8}, {1, 7}, {5, 0}, {1, 5}, {1, 9}, {5, 1}, {5, 2}}) {
            devices.addObject().put("allow", true).put("type", "c").put("major", device[0]).put("minor", device[1])
                    .put("access", "rwm");
        }
        devices.addObject().put("allow", true).put("type", "c").put("major", 136).put("access", "rwm");
        resources.putObject("cpu").put("shares", 1024);
        // runc spec's root gets ambient capabilities of its bounding set: nothing more than it has
        ((ObjectNode) process(config).get("capabilities")).set("ambient", JSON.valueToTree(List.of("CAP_KILL")));
        ContainerConfig c = translate(config);
        assertEquals(0, c.getResources().getCpus());
        assertEquals(1024, c.getResources().getCpuShares(), "containerd's weight, as it asked");
    }

    /** linux.devices[i] as podman sends --device: the node, its mode and owner, and an allow rule for its number. */
    private static ObjectNode device(ObjectNode config, String path, int major, int minor) {
        ArrayNode devices = linux(config).has("devices") ? (ArrayNode) linux(config).get("devices")
                : linux(config).putArray("devices");
        return devices.addObject().put("path", path).put("type", "c").put("major", major).put("minor", minor);
    }

    @Test
    void listedDevicesAreTheHostsNodesWithTheAccessTheirRulesAllow() throws Exception {
        ObjectNode config = podmanConfig();
        device(config, "/dev/myzero", 1, 5).put("fileMode", 0666).put("uid", 0).put("gid", 0);
        device(config, "/dev/myfull", 1, 7); // no rule: a standard device, usable anyway
        device(config, "/dev/null", 1, 3).put("type", "u");
        ArrayNode rules = (ArrayNode) linux(config).path("resources").path("devices");
        rules.insertObject(0).put("allow", true).put("type", "c").put("major", 1).put("minor", 3).put("access", "w");
        rules.addObject().put("allow", true).put("type", "c").put("major", 1).put("minor", 5).put("access", "r");
        rules.addObject().put("allow", true).put("type", "c").put("major", 1).put("minor", 5).put("access", "m");
        rules.addObject().put("allow", true).put("type", "c").put("major", 1).put("minor", 3).put("access", "r");
        ContainerConfig c = translate(config);
        assertEquals(List.of(
                Device.newBuilder().setHostPath("/dev/zero").setPath("/dev/myzero").setPermissions("rm").build(),
                Device.newBuilder().setHostPath("/dev/full").setPath("/dev/myfull").setPermissions("rwm").build(),
                // the allow of w came before the deny-all, which undid it
                Device.newBuilder().setHostPath("/dev/null").setPath("/dev/null").setPermissions("r").build()),
                c.getDevicesList());
        refusedInVm("linux.devices: host devices cannot enter a VM", config);
    }

    @Test
    void noSeccompSectionMeansNoFilterAndNoCapabilitiesMeansNone() throws Exception {
        ObjectNode config = podmanConfig();
        ((ObjectNode) config.get("linux")).remove("seccomp");
        ((ObjectNode) config.get("process")).remove("capabilities");
        ContainerConfig c = translate(config);
        assertTrue(c.getSeccomp().getUnconfined());
        assertEquals(List.of("ALL"), c.getCapabilities().getDropList());
    }

    @Test
    void theHooksTheDaemonRunsAreKeptForIt() throws Exception {
        ObjectNode config = podmanConfig();
        ObjectNode hooks = config.putObject("hooks");
        hooks.putArray("prestart").addObject().put("path", "/bin/true");
        hooks.putArray("createRuntime").addObject().put("path", "/bin/true");
        hooks.putArray("poststart").addObject().put("path", "/bin/true");
        hooks.putArray("poststop").addObject().put("path", "/bin/true").put("timeout", 5);
        hooks.putArray("startContainer").addObject().put("path", "/bin/true");
        hooks.putArray("createContainer").addObject().put("path", "/bin/true");
        hooks.putArray("prestop"); // empty: nothing to refuse
        String kept = translate(config).getLabelsOrThrow(ContainerHooks.LABEL);
        assertTrue(kept.contains("\"prestart\"") && kept.contains("\"createRuntime\"") && kept.contains("\"poststart\"")
                && kept.contains("\"poststop\"") && kept.contains("\"startContainer\"") && kept.contains("createContainer")
                && !kept.contains("prestop"), kept);
    }

    @Test
    void aTmpfsMountKeepsItsSizeModeAndNoexec() throws Exception {
        ObjectNode config = podmanConfig();
        ((ArrayNode) config.get("mounts")).addObject().put("destination", "/scratch").put("type", "tmpfs")
                .put("source", "tmpfs").set("options", JSON.valueToTree(List.of("nosuid", "noexec", "size=1m",
                        "mode=1777")));
        Volume scratch = translate(config).getVolumesList().getLast();
        assertEquals("/scratch", scratch.getTarget());
        assertEquals(1 << 20, scratch.getTmpfs().getSizeBytes());
        assertEquals(01777, scratch.getTmpfs().getMode());
        assertTrue(scratch.getTmpfs().getNoexec());
    }

    @Test
    void aTerminalIsTheTasksOwnWithItsInputOpen() throws Exception {
        ObjectNode config = podmanConfig();
        process(config).put("terminal", true);
        ContainerConfig translated = translate(config);
        assertTrue(translated.getTty() && translated.getInteractive(), translated.toString());
        assertFalse(translate(podmanConfig()).getTty());
    }

    @Test
    void theCgroupsPathIsWhereTheContainersCgroupsGo() throws Exception {
        ObjectNode config = podmanConfig();
        ((ObjectNode) config.get("linux")).put("cgroupsPath", "/libpod_parent/libpod-abc");
        assertEquals("/libpod_parent/libpod-abc", translate(config).getCgroupPath());
        ((ObjectNode) config.get("linux")).put("cgroupsPath", "default//abc/");
        assertEquals("/default/abc", translate(config).getCgroupPath(), "relative: from the root, cleaned");
        ((ObjectNode) config.get("linux")).remove("cgroupsPath");
        assertEquals("", translate(config).getCgroupPath(), "none: the node's parent");
    }

    @Test
    void eachRefusalNamesTheJsonPath() throws Exception {
        refused("process.oomScoreAdj: '2000' is not from -1000 to 1000", c -> process(c).put("oomScoreAdj", 2000));
        refused("process.apparmorProfile", c -> process(c).put("apparmorProfile", "containers-default"));
        refused("linux.cgroupsPath: 'machine.slice:libpod:abc' is a systemd slice", c -> ((ObjectNode) c.get("linux"))
                .put("cgroupsPath", "machine.slice:libpod:abc"));
        refused("linux.cgroupsPath: '/a/../b': level '..'", c -> ((ObjectNode) c.get("linux")).put("cgroupsPath", "/a/../b"));
        refused("process.user.umask", c -> ((ObjectNode) process(c).get("user")).put("umask", 077));
        refused("process.capabilities.ambient", c -> ((ObjectNode) process(c).get("capabilities"))
                .set("ambient", JSON.valueToTree(List.of("CAP_SYS_ADMIN"))));
        refused("process.capabilities.effective", c -> ((ObjectNode) process(c).get("capabilities"))
                .set("effective", JSON.valueToTree(List.of("CAP_KILL"))));
        refused("process.ioPriority", c -> process(c).putObject("ioPriority"));
        refused("linux.namespaces[4].path: joining an existing mount namespace is not supported",
                c -> namespace(c, 4).put("path", "/proc/1/ns/mnt"));
        refused("linux.uidMappings: is required with a new user namespace",
                c -> namespaces(c).addObject().put("type", "user"));
        refused("linux.namespaces[5].path", c -> namespaces(c).addObject().put("type", "user")
                .put("path", "/proc/1/ns/user"));
        refused("linux.gidMappings[0].size", c -> {
            namespaces(c).addObject().put("type", "user");
            linux(c).set("uidMappings", JSON.valueToTree(List.of(java.util.Map.of("containerID", 0, "hostID", 1,
                    "size", 1))));
            linux(c).set("gidMappings", JSON.valueToTree(List.of(java.util.Map.of("containerID", 0, "hostID", 1,
                    "size", 0))));
        });
        refused("linux.uidMappings[1].hostID: overlaps the range of linux.uidMappings[0]", c -> {
            namespaces(c).addObject().put("type", "user");
            linux(c).set("uidMappings", JSON.valueToTree(List.of(java.util.Map.of("containerID", 0, "hostID", 1000,
                    "size", 10), java.util.Map.of("containerID", 10, "hostID", 1005, "size", 1))));
            linux(c).set("gidMappings", JSON.valueToTree(List.of(java.util.Map.of("containerID", 0, "hostID", 1,
                    "size", 1))));
        });
        refused("linux.uidMappings[0].hostID: must be a number", c -> {
            namespaces(c).addObject().put("type", "user");
            linux(c).set("uidMappings", JSON.valueToTree(List.of(java.util.Map.of("containerID", 0, "hostID", -1,
                    "size", 1))));
        });
        refused("linux.namespaces: has no pid namespace", c -> namespaces(c).remove(0));
        refused("linux.uidMappings: needs a user namespace", c -> linux(c).set("uidMappings", JSON.valueToTree(List.of(
                java.util.Map.of("containerID", 0, "hostID", 100000, "size", 65536)))));
        refused("linux.sysctl.net.ipv4.ip_forward: must be a string", c -> linux(c).putObject("sysctl")
                .put("net.ipv4.ip_forward", 1));
        refused("linux.sysctl: must be an object", c -> linux(c).putArray("sysctl").add("net.ipv4.ip_forward=1"));
        refused("linux.devices[0].type: '' is not supported", c -> linux(c).putArray("devices").addObject()
                .put("path", "/dev/fuse"));
        refused("linux.devices[0].type: 'p' is not supported", c -> device(c, "/dev/fifo", 0, 0).put("type", "p"));
        refused("linux.devices[0].path", c -> device(c, "dev/myzero", 1, 5));
        refused("linux.devices[0].minor: must be a device number", c -> device(c, "/dev/myzero", 1, 5).remove("minor"));
        refused("linux.devices[0]: this host has no node c 4095:1048575", c -> device(c, "/dev/none", 4095, 1048575));
        refused("linux.devices[0].fileMode: 0600 is not the mode of the host's node /dev/zero (0666)",
                c -> device(c, "/dev/myzero", 1, 5).put("fileMode", 0600));
        refused("linux.devices[0].uid: 1000 is not the owner of the host's node /dev/zero (0)",
                c -> device(c, "/dev/myzero", 1, 5).put("uid", 1000));
        refused("linux.devices[0].dev", c -> device(c, "/dev/myzero", 1, 5).put("dev", 1));
        refused("linux.resources.devices[1]", c -> ((ArrayNode) linux(c).path("resources").path("devices"))
                .addObject().put("allow", true).put("type", "c").put("major", 10).put("minor", 229).put("access", "rwm"));
        // a rule wider than the listed device is not that device's
        refused("linux.resources.devices[1]", c -> {
            device(c, "/dev/myzero", 1, 5);
            ((ArrayNode) linux(c).path("resources").path("devices")).addObject().put("allow", true).put("type", "c")
                    .put("major", 1).put("access", "rwm");
        });
        refused("linux.resources.devices[1].access", c -> {
            device(c, "/dev/myzero", 1, 5);
            ((ArrayNode) linux(c).path("resources").path("devices")).addObject().put("allow", true).put("type", "c")
                    .put("major", 1).put("minor", 5).put("access", "rx");
        });
        refused("linux.resources.hugepageLimits[0].limit: -1 is not a number of bytes",
                c -> ((ObjectNode) linux(c).get("resources")).putArray("hugepageLimits")
                        .add(JSON.createObjectNode().put("pageSize", "2MB").put("limit", -1)));
        refused("linux.resources.hugepageLimits[0].pageSize: must name a page size",
                c -> ((ObjectNode) linux(c).get("resources")).putArray("hugepageLimits")
                        .add(JSON.createObjectNode().put("limit", 0)));
        refused("linux.resources.cpu.shares: 1 is not a CPU weight from 2 to 262144",
                c -> ((ObjectNode) linux(c).get("resources")).putObject("cpu").put("shares", 1));
        // read as runc's update reads them: a size that is no integer, a swap below the limit, a negative quota
        refused("linux.resources.memory.limit: \"64m\" is not an integer",
                c -> ((ObjectNode) linux(c).get("resources")).putObject("memory").put("limit", "64m"));
        refused("linux.resources.memory.swap: 1048576 must be -1 (unlimited) or at least the memory limit",
                c -> ((ObjectNode) linux(c).get("resources")).putObject("memory").put("limit", 64L << 20)
                        .put("swap", 1L << 20));
        refused("linux.resources.cpu.quota: -5 is not a quota", c -> ((ObjectNode) linux(c).get("resources"))
                .putObject("cpu").put("quota", -5));
        refused("linux.resources.cpu.period: 10 is not a period", c -> ((ObjectNode) linux(c).get("resources"))
                .putObject("cpu").put("period", 10));
        refused("linux.resources.hugepageLimits: must be a JSON array",
                c -> ((ObjectNode) linux(c).get("resources")).put("hugepageLimits", "2MB"));
        refused("linux.rootfsPropagation", c -> linux(c).put("rootfsPropagation", "shared"));
        refused("linux.seccomp.listenerPath", c -> ((ObjectNode) linux(c).get("seccomp")).put("listenerPath", "/x"));
        refused("linux.intelRdt", c -> linux(c).putObject("intelRdt"));
        refused("mounts[4].type", c -> ((ObjectNode) c.get("mounts").get(4)).put("type", "nfs"));
        refused("mounts[5].options[2]", c -> ((ArrayNode) c.get("mounts").get(5).get("options")).add("shared"));
        refused("hooks.createContainer[0].path", c -> c.putObject("hooks").putArray("createContainer").addObject()
                .put("path", "true"));
        refused("hooks.prestop: is not a hook of the spec", c -> c.putObject("hooks").putArray("prestop").addObject()
                .put("path", "/bin/true"));
        refused("hooks.createRuntime[0].timeout", c -> c.putObject("hooks").putArray("createRuntime").addObject()
                .put("path", "/bin/true").put("timeout", 0));
        refused("hooks.poststart[0].path", c -> c.putObject("hooks").putArray("poststart").addObject()
                .put("path", "true"));
        refused("ociVersion", c -> c.put("ociVersion", "0.9"));
        refused("domainname", c -> c.put("domainname", "example.com"));
        refused("windows", c -> c.putObject("windows"));
    }

    private void refused(String pathAndMore, Consumer<ObjectNode> change) throws Exception {
        ObjectNode config = podmanConfig();
        change.accept(config);
        VesselException e = assertThrows(VesselException.class, () -> translate(config), pathAndMore);
        assertTrue(e.getMessage().startsWith("config.json: " + pathAndMore), e.getMessage());
        assertEquals("config.json", e.field().orElseThrow());
    }

    private static ObjectNode process(ObjectNode config) {
        return (ObjectNode) config.get("process");
    }

    private static ObjectNode linux(ObjectNode config) {
        return (ObjectNode) config.get("linux");
    }

    private static ArrayNode namespaces(ObjectNode config) {
        return (ArrayNode) linux(config).get("namespaces");
    }

    private static ObjectNode namespace(ObjectNode config, int i) {
        return (ObjectNode) namespaces(config).get(i);
    }
}
