package dev.vessel.node;

import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * What a container may leave on the host, looked for the way an operator would: its cgroups under
 * the test's cgroup parent, mounts under the test's directories, its network namespace and state,
 * its files, the host ends of its veths on a bridge, its IP reservations. Each finding is a line
 * naming the thing.
 */
final class Leftovers {
    private Leftovers() {
    }

    /** Everything of container {@code id} still on the host; empty when nothing is. */
    static List<String> of(String id, DaemonProcess daemon, String cgroupParent, Path ipamDir) throws IOException {
        List<String> found = new ArrayList<>();
        for (CgroupHierarchy h : CgroupHierarchies.detect().all()) {
            Path parent = h.mountPoint().resolve(cgroupParent);
            if (Files.isDirectory(parent)) {
                try (Stream<Path> all = Files.walk(parent)) {
                    all.filter(Files::isDirectory).filter(p -> p.getFileName().toString().contains(id))
                            .forEach(p -> found.add("cgroup " + p));
                }
            }
        }
        for (String mountPoint : mountPoints()) {
            if (mountPoint.contains(id)) {
                found.add("mount " + mountPoint);
            }
        }
        for (Path p : List.of(daemon.runDir().resolve("cni").resolve(id), daemon.runDir().resolve("containers").resolve(id),
                daemon.stateDir().resolve("rootfs").resolve(id))) {
            if (Files.exists(p)) {
                found.add("file " + p);
            }
        }
        if (ipamDir != null && Files.isDirectory(ipamDir)) {
            try (Stream<Path> all = Files.walk(ipamDir)) {
                for (Path p : all.filter(Files::isRegularFile).toList()) {
                    if (Files.readString(p).contains(id)) {
                        found.add("IP reservation " + p);
                    }
                }
            }
        }
        return found;
    }

    /** The interfaces attached to {@code bridge} (the host ends of containers' veths); empty without the bridge. */
    static List<String> bridgePorts(String bridge) throws IOException {
        Path brif = Path.of("/sys/class/net", bridge, "brif");
        if (!Files.isDirectory(brif)) {
            return List.of();
        }
        try (Stream<Path> ports = Files.list(brif)) {
            return ports.map(p -> "veth " + p.getFileName() + " on " + bridge).toList();
        }
    }

    /** Every mount point this process sees, unescaped. */
    static List<String> mountPoints() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/mountinfo")).stream()
                .map(line -> line.split(" ")[4].replace("\\040", " ").replace("\\011", "\t")
                        .replace("\\012", "\n").replace("\\134", "\\"))
                .toList();
    }

    /** Removes a bridge a test's CNI network made (tests may use ip(8); the product does not). */
    static void deleteBridge(String bridge) throws IOException, InterruptedException {
        if (Files.exists(Path.of("/sys/class/net", bridge))) {
            Process p = new ProcessBuilder("ip", "link", "del", bridge).inheritIO().start();
            if (p.waitFor() != 0) {
                throw new IllegalStateException("ip link del " + bridge + " failed");
            }
        }
    }
}
