package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.node.DaemonProcess;
import dev.vessel.provisioner.testing.LocalRegistry;
import dev.vessel.provisioner.testing.TestImages;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The package on a fresh machine, as a user installs it: in a private mount namespace, an overlay of this host's
 * root (its changes on a tmpfs) where Vessel is not installed, {@code apt-get install ./vessel_*.deb}, vesseld
 * started by the installed unit's ExecStart, a container and a VM task run from an image on a loopback registry,
 * then {@code apt-get purge vessel}, which keeps the images, and once installed again, a purge with
 * {@code VESSEL_PURGE_DATA=1}, which does not. The host is left as it was: the mounts go with the namespace, the script
 * stops what it started, and the cgroups of the daemon are removed here.
 */
class PackageInstallTest {
    private static final Path SCRIPT = Path.of("src/test/package/install-in-overlay").toAbsolutePath();

    @TempDir
    Path tmp;

    @Test
    void installsRunsAContainerAndAVmTaskAndPurgesAllButTheUsersImages() throws Exception {
        VmNode.requireRootAndLibvirt();
        Path deb = DebianPackage.built();
        String cgroupParent = "vessel-package-" + ProcessHandle.current().pid();
        try (LocalRegistry registry = LocalRegistry.start(tmp.resolve("registry"), false)) {
            Path layout = TestImages.buildTwoLayer(tmp.resolve("image"), "v1");
            String image = registry.address() + "/busybox:v1";
            TestImages.push(layout, "v1", image, null);

            Path log = Files.createDirectories(Path.of("target/package")).resolve("install.log"); // kept for a failure
            Process p = new ProcessBuilder("unshare", "--mount", "--propagation", "private", "--fork", "bash",
                    SCRIPT.toString(), deb.toString(), Files.createDirectories(tmp.resolve("machine")).toString(), image,
                    cgroupParent, registry.address(), "1").redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(8, TimeUnit.MINUTES)) { // a bound for a hung install, not a timing assertion
                p.destroyForcibly().waitFor();
            }
            String output = Files.readString(log);
            assertEquals(0, p.exitValue(), output);
            Map<String, List<String>> steps = steps(output);

            assertEquals(List.of("/usr/bin/vessel", "/usr/bin/vesseld", "/usr/bin/vessel-runtime",
                    "/usr/bin/vessel-runtime-vm"), steps.get("which"), output);
            // the native runtime hands --version to the Java one, this script again with VESSEL_RUNTIME_JAVA set
            assertEquals(List.of("vessel-runtime version 0.1"), steps.get("runtime"), output);
            assertTrue(steps.get("completion").getFirst().contains("_complete_vessel vessel"), output);
            assertEquals(List.of("1"), steps.get("man"), output); // vessel-run(1) has its OPTIONS section
            assertEquals("/usr/bin/vesseld --config /etc/vessel/vesseld.conf", steps.get("daemon").getFirst(), output);
            assertEquals("hi", steps.get("run").getLast(), output);
            assertEquals("hi from a vm", steps.get("vm").getLast(), output);
            assertTrue(steps.get("images").stream().anyMatch(line -> line.startsWith(image + " ")), output);
            assertEquals(1, steps.get("ps").size(), "only the header: --rm removed both\n" + output);
            assertEquals(List.of(), steps.get("left"), "what the purge left behind\n" + output);
            assertTrue(steps.get("kept").containsAll(List.of("blobs", "images", "layers")), output);
            // installed again and purged with VESSEL_PURGE_DATA=1: the images go too
            assertEquals(List.of(), steps.get("purge data"), output);
        } catch (Throwable failure) {
            removeCgroupParent(cgroupParent, failure);
            throw failure;
        }
        removeCgroupParent(cgroupParent, null);
    }

    /** The daemon's cgroups; a cgroup still busy (a container left running) fails the test, after its own failure. */
    private static void removeCgroupParent(String cgroupParent, Throwable failure) throws Exception {
        try {
            DaemonProcess.removeCgroupParent(cgroupParent);
        } catch (Exception e) {
            if (failure == null) {
                throw e;
            }
            failure.addSuppressed(e);
        }
    }

    /** The script's output after each "== step" line, by step. */
    private static Map<String, List<String>> steps(String output) {
        Map<String, List<String>> steps = new LinkedHashMap<>();
        List<String> current = null;
        for (String line : output.lines().toList()) {
            if (line.startsWith("== ")) {
                current = new ArrayList<>();
                steps.put(line.substring(3), current);
            } else if (current != null) {
                current.add(line);
            }
        }
        return steps;
    }
}
