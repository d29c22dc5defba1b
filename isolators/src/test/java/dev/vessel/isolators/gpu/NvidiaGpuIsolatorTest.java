package dev.vessel.isolators.gpu;

import static dev.vessel.core.gpu.FakeGpuHost.H100_A;
import static dev.vessel.core.gpu.FakeGpuHost.H100_ALONE;
import static dev.vessel.core.gpu.FakeGpuHost.H200_B;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.gpu.FakeGpuHost;
import dev.vessel.core.gpu.GpuAllocator;
import dev.vessel.core.gpu.PciAddress;
import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.GpuAllocation;
import dev.vessel.core.model.Resources;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.isolators.IsolatorCatalog.Placement;
import dev.vessel.isolators.IsolatorCatalog;
import dev.vessel.isolators.IsolatorContext;
import dev.vessel.isolators.testing.ProcessNode;
import dev.vessel.launcher.process.ProcessLauncher;
import dev.vessel.linux.CgroupHierarchies;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * gpu/nvidia in real process containers, on a fake GPU host whose NVIDIA nodes carry the numbers of
 * harmless real devices (/dev/net/tun, /dev/fuse…) that a default container may not open: what a
 * container can open is what the devices cgroup and its /dev say, with the node catalog's default
 * isolators around it.
 */
class NvidiaGpuIsolatorTest {
    @TempDir
    static Path tmp;

    static final String PARENT = ProcessNode.uniqueCgroupParent("vessel-gpu-");
    static final CgroupHierarchies HIERARCHIES = CgroupHierarchies.detect();
    static FakeGpuHost host;
    static FakeGpuHost.DriverFiles driver;
    static GpuAllocator allocator;
    static ProcessNode node;

    @BeforeAll
    static void startNode() throws Exception {
        host = FakeGpuHost.create(tmp.resolve("host"));
        driver = host.driverFiles();
        node = start();
    }

    static ProcessNode start() throws Exception {
        return ProcessNode.start(tmp.resolve("node"), "gpu", NvidiaGpuIsolatorTest::isolators, b -> b.gpus(allocator, Set.of(GpuAllocation.Use.DEVICES)));
    }

    /** The catalog's process isolators with a fresh allocator on the fake host, as a daemon's start-up makes. */
    static List<Isolator> isolators(RuntimePaths paths) {
        allocator = new GpuAllocator(host.discovery().discover(), paths);
        IsolatorContext.Gpus gpus = new IsolatorContext.Gpus(allocator,
                new NvidiaDriverFiles(driver.ldCache(), List.of(driver.binDir())));
        return IsolatorCatalog.build(IsolatorContext.of(paths, HIERARCHIES, PARENT).withGpus(gpus),
                EnumSet.of(Placement.PROCESS_HOST));
    }

    @AfterAll
    static void stopNode() throws Exception {
        ProcessNode.stop(node, HIERARCHIES, PARENT);
    }

    @AfterEach
    void destroyAll() {
        node.containerizer().list().stream().filter(s -> s.getState() != ContainerState.TERMINATED)
                .forEach(s -> node.containerizer().destroy(s.getId()));
        node.containerizer().list().forEach(s -> node.containerizer().remove(s.getId()));
    }

    /** Each argument: "name ok" when the shell opens it read-write, else "name <error>". */
    static final String OPEN_EACH = "for f; do if (: <> $f) 2>/tmp/err; then echo \"$f ok\"; else echo \"$f $(cat /tmp/err)\"; fi; done";

    @Test
    void aContainerOpensItsGpuAndTheControlNodesAndNoOtherGpu() throws Exception {
        node.runToExit(gpuConfig("own", OPEN_EACH + "; ls /dev | grep nvidia | tr '\\n' ' '; echo;"
                + " stat -c '%n %t:%T' /dev/nvidia1; echo \"visible $NVIDIA_VISIBLE_DEVICES\"",
                Resources.newBuilder().addGpuAddresses(H200_B))
                .addArgs("x").addArgs("/dev/nvidia1").addArgs("/dev/nvidiactl").addArgs("/dev/nvidia-uvm")
                .addArgs("/dev/nvidia-uvm-tools").addArgs("/dev/nvidia-modeset"));

        List<String> out = node.stdout("own").lines().toList();
        assertEquals(List.of("/dev/nvidia1 ok", "/dev/nvidiactl ok", "/dev/nvidia-uvm ok", "/dev/nvidia-uvm-tools ok",
                "/dev/nvidia-modeset ok",
                // its own GPU's node only: nvidia0 and nvidia2 are not there
                "nvidia-modeset nvidia-uvm nvidia-uvm-tools nvidia1 nvidiactl ",
                // the host's number (/dev/fuse's, 10:229 in hex)
                "/dev/nvidia1 a:e5",
                "visible " + FakeGpuHost.uuid(H200_B)), out, node.stderr("own"));
    }

    @Test
    void anotherGpusNodeMadeInsideTheContainerCannotBeOpened() throws Exception {
        // with CAP_MKNOD the task makes the other GPUs' nodes itself: the devices cgroup still refuses them
        node.runToExit(gpuConfig("other", "mknod /tmp/nvidia0 c 10 200 && mknod /tmp/nvidia2 c 10 237"
                + " && mknod /tmp/mine c 10 229 && " + OPEN_EACH, Resources.newBuilder().addGpuAddresses(H200_B))
                .setCapabilities(Capabilities.newBuilder().addAdd("MKNOD"))
                .addArgs("x").addArgs("/tmp/nvidia0").addArgs("/tmp/nvidia2").addArgs("/tmp/mine"));

        List<String> out = node.stdout("other").lines().toList();
        assertEquals(3, out.size(), out + " " + node.stderr("other"));
        assertTrue(out.get(0).startsWith("/tmp/nvidia0 ") && out.get(0).contains("Operation not permitted"), out.get(0));
        assertTrue(out.get(1).startsWith("/tmp/nvidia2 ") && out.get(1).contains("Operation not permitted"), out.get(1));
        assertEquals("/tmp/mine ok", out.get(2)); // its own GPU's number opens wherever its node is
    }

    @Test
    void theDevicesCgroupAllowsExactlyTheGpuAndControlNodes() throws Exception {
        var devices = HIERARCHIES.forController("devices");
        assertTrue(devices.isPresent(), "this host has no v1 devices controller (the v2 program is checked apart)");
        node.containerizer().launch(gpuConfig("cgroup", "sleep 60", Resources.newBuilder().setGpus(1)).build());
        Path list = devices.get().mountPoint().resolve(PARENT).resolve("cgroup").resolve("devices.list");
        List<String> rules = Files.readAllLines(list);
        // one GPU of NUMA node 0 (the two H100s there): nvidia0 (10:200), and the four control nodes
        for (String rule : List.of("c 10:200 rwm", "c 10:234 rwm", "c 10:256 rwm", "c 10:257 rwm", "c 10:232 rwm")) {
            assertTrue(rules.contains(rule), rule + " not in " + rules);
        }
        assertFalse(rules.contains("c 10:229 rwm"), rules.toString());
        assertFalse(rules.contains("c 10:237 rwm"), rules.toString());
        assertEquals(List.of(H100_A), node.containerizer().status("cgroup").getGpusList());
    }

    @Test
    void aContainerWithoutGpusOpensNoneOfTheirNumbers() throws Exception {
        node.runToExit(node.shellConfig("none", "mknod /tmp/g c 10 229 && mknod /tmp/ctl c 10 234 && " + OPEN_EACH
                + "; ls /dev | grep -c nvidia; echo \"visible=$NVIDIA_VISIBLE_DEVICES\"")
                .setCapabilities(Capabilities.newBuilder().addAdd("MKNOD")).addArgs("x").addArgs("/tmp/g")
                .addArgs("/tmp/ctl"));
        List<String> out = node.stdout("none").lines().toList();
        assertTrue(out.get(0).contains("Operation not permitted"), out.toString());
        assertTrue(out.get(1).contains("Operation not permitted"), out.toString());
        assertEquals(List.of("0", "visible="), out.subList(2, 4));
    }

    @Test
    void theDriversFilesAreMountedReadOnly() throws Exception {
        node.runToExit(gpuConfig("driver", "ls /usr/local/nvidia/lib64 | tr '\\n' ' '; echo;"
                + " /usr/local/nvidia/bin/nvidia-smi;"
                + " true >> /usr/local/nvidia/lib64/libcuda.so.1 && echo writable;"
                + " awk '$5 == \"/usr/local/nvidia/lib64/libcuda.so.1\" { print substr($6, 1, 2) }' /proc/self/mountinfo",
                Resources.newBuilder().setGpus(1)));

        List<String> out = node.stdout("driver").lines().toList();
        assertEquals(List.of("libcuda.so libcuda.so.1 libnvidia-ml.so.1 ", "NVIDIA-SMI " + FakeGpuHost.DRIVER_VERSION,
                "ro"), out, node.stderr("driver"));
        assertTrue(node.stderr("driver").contains("Read-only file system"), node.stderr("driver"));
    }

    @Test
    void countsShareTheGpusOutAndAnEndedContainerGivesThemBack() throws Exception {
        node.containerizer().launch(gpuConfig("two", "sleep 60", Resources.newBuilder().setGpus(2)).build());
        node.containerizer().launch(gpuConfig("one", "sleep 60", Resources.newBuilder().setGpus(1)).build());
        assertEquals(List.of(H100_A, H100_ALONE), node.containerizer().status("two").getGpusList());
        assertEquals(List.of(H200_B), node.containerizer().status("one").getGpusList());

        VesselException full = assertThrows(VesselException.class, () -> node.containerizer().launch(
                gpuConfig("third", "true", Resources.newBuilder().setGpus(1)).build()));
        assertEquals("resources.gpus", full.field().orElseThrow());
        assertTrue(full.getMessage().contains("all 3 are in use"), full.getMessage());
        // refused before anything was made
        assertFalse(Files.exists(node.paths().containerDir(List.of("third"))));

        node.containerizer().destroy("two");
        node.containerizer().wait("two").get(30, TimeUnit.SECONDS);
        assertEquals(Map.of(new PciAddress(H200_B), "one"), allocator.holders());
        node.containerizer().launch(gpuConfig("again", "sleep 60", Resources.newBuilder().setGpus(2)).build());
        assertEquals(List.of(H100_A, H100_ALONE), node.containerizer().status("again").getGpusList());
    }

    @Test
    void refusalsComeBeforeAnythingIsMade() {
        for (var request : List.of(Resources.newBuilder().setGpus(4), Resources.newBuilder()
                .addGpuAddresses(FakeGpuHost.ISA_BRIDGE), Resources.newBuilder().addGpuAddresses(FakeGpuHost.AMD))) {
            VesselException e = assertThrows(VesselException.class, () -> node.containerizer().launch(
                    gpuConfig("refused", "true", request).build()));
            assertTrue(e.field().orElseThrow().startsWith("resources.gpu"), e.field().toString());
            assertFalse(Files.exists(node.paths().containerDir(List.of("refused"))), request.toString());
        }
    }

    @Test
    void aRestartedNodeKeepsTheLiveContainersGpus() throws Exception {
        node.containerizer().launch(gpuConfig("survivor", "sleep 60", Resources.newBuilder().addGpuAddresses(H200_B))
                .build());
        // a daemon's start-up on the same directories: a new, empty allocator, recovered with the isolators
        RuntimePaths paths = node.paths();
        List<Isolator> isolators = isolators(paths);
        UnifiedContainerizer restarted = UnifiedContainerizer.builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(ProcessLauncher.withBundledHelper(paths)).isolators(isolators).gpus(allocator, Set.of(GpuAllocation.Use.DEVICES)).build();
        restarted.recover();
        node = new ProcessNode(paths, node.rootfs(), restarted);

        assertEquals(ContainerState.RUNNING, node.containerizer().status("survivor").getState());
        assertEquals(Map.of(new PciAddress(H200_B), "survivor"), allocator.holders());
        VesselException held = assertThrows(VesselException.class, () -> node.containerizer().launch(
                gpuConfig("thief", "true", Resources.newBuilder().addGpuAddresses(H200_B)).build()));
        assertTrue(held.getMessage().contains("in use by container 'survivor'"), held.getMessage());
    }

    private static ContainerConfig.Builder gpuConfig(String id, String script, Resources.Builder resources) {
        return node.shellConfig(id, script).setResources(resources);
    }
}
