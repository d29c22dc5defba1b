package dev.vessel.isolators.cgroups;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.LibC;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Gives each container its own cgroup in every hierarchy Vessel uses ({@code <mount>/<parent>/<id>}),
 * puts the task in it, and at cleanup kills whatever is left there and removes the directories. The
 * controller isolators ({@code cgroups/memory}, …) set limits on what this one creates.
 */
public final class CgroupsIsolator implements Isolator {
    /** Controllers Vessel places containers in, when the host has them. */
    public static final Set<String> CONTROLLERS = Set.of("cpu", "cpuacct", "memory", "pids", "devices", "freezer");

    private final CgroupHierarchies hierarchies;
    private final String parent;

    /** @param parent the cgroup under which containers go, e.g. "vessel" (configurable for guests and tests) */
    public CgroupsIsolator(CgroupHierarchies hierarchies, String parent) {
        if (parent.isEmpty() || parent.startsWith("/") || parent.contains("..")) {
            throw VesselException.invalid("cgroups.parent", "'" + parent + "' must be a relative cgroup path");
        }
        this.hierarchies = hierarchies;
        this.parent = parent;
    }

    @Override
    public String name() {
        return "cgroups";
    }

    @Override
    public Set<Key<?>> provides() {
        return Set.of(CgroupKeys.CGROUPS);
    }

    /** Where a container's cgroups are; derived from its id, so nothing needs checkpointing. */
    public ContainerCgroups cgroupsOf(String containerId) {
        Map<String, Path> dirs = new LinkedHashMap<>();
        Map<String, Integer> versions = new LinkedHashMap<>();
        for (String controller : CONTROLLERS) {
            hierarchies.forController(controller).ifPresent(h -> {
                dirs.put(controller, h.mountPoint().resolve(parent).resolve(containerId));
                versions.put(controller, h.version());
            });
        }
        return new ContainerCgroups(Map.copyOf(dirs), Map.copyOf(versions));
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) throws IOException {
        ContainerCgroups cgroups = cgroupsOf(context.containerId());
        hierarchies.unified().ifPresent(this::enableV2Controllers);
        for (Path dir : cgroups.distinctDirectories()) {
            if (Files.exists(dir)) {
                throw new VesselException(ErrorCode.ALREADY_EXISTS, dir.toString(),
                        "a cgroup for container '" + context.containerId() + "' exists already");
            }
            Files.createDirectories(dir);
        }
        context.put(CgroupKeys.CGROUPS, cgroups);
        // the launcher starts the task in them: cheaper than a move, and nothing runs outside first
        return LaunchInfo.newBuilder()
                .addAllCgroups(cgroups.distinctDirectories().stream().map(Path::toString).toList()).build();
    }

    /** On v2 a child only gets a controller that every ancestor enabled in cgroup.subtree_control. */
    private void enableV2Controllers(CgroupHierarchy unified) {
        List<String> routedToV2 = CONTROLLERS.stream().sorted()
                .filter(c -> hierarchies.forController(c).filter(CgroupHierarchy::unified).isPresent()).toList();
        if (routedToV2.isEmpty()) {
            return; // a hybrid host whose v2 hierarchy holds nothing Vessel uses
        }
        Path root = unified.mountPoint();
        Path parentDir = root.resolve(parent);
        try {
            Files.createDirectories(parentDir);
        } catch (IOException e) {
            throw VesselException.internal(parentDir.toString(), "cannot create the cgroup parent: " + e.getMessage(), e);
        }
        routedToV2.forEach(controller -> enableAlongPath(root, parentDir, controller));
    }

    static void enableAlongPath(Path root, Path parentDir, String controller) {
        Path dir = root;
        for (Path part : root.relativize(parentDir)) {
            CgroupFiles.write(dir, "cgroup.subtree_control", "+" + controller);
            dir = dir.resolve(part);
        }
        CgroupFiles.write(dir, "cgroup.subtree_control", "+" + controller);
    }

    /**
     * Moves the task into those of its cgroups its launcher did not start it in (a launcher that
     * honours {@code LaunchInfo.cgroups} leaves nothing to do). On v1 each move waits for an RCU
     * grace period, and moves made together share one instead of paying one each.
     */
    @Override
    public void isolate(ContainerContext context, long pid) throws Exception {
        Set<Path> missing = notYetIn(pid, cgroupsOf(context.containerId()), "/" + parent + "/" + context.containerId());
        if (missing.isEmpty()) {
            return;
        }
        try (var moves = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Future<?>> done = missing.stream()
                    .<Future<?>>map(dir -> moves.submit(() -> CgroupFiles.write(dir, "cgroup.procs", Long.toString(pid))))
                    .toList();
            for (Future<?> move : done) {
                try {
                    move.get();
                } catch (ExecutionException e) {
                    throw e.getCause() instanceof Exception cause ? cause : e;
                }
            }
        }
    }

    /**
     * The container's directories {@code pid} is not in, from {@code /proc/<pid>/cgroup}: lines
     * {@code <id>:<controllers>:<path>}, where v1 lists its controllers and v2 has id 0 and none.
     */
    private static Set<Path> notYetIn(long pid, ContainerCgroups cgroups, String path) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"));
        Set<Path> missing = new LinkedHashSet<>();
        cgroups.directories().forEach((controller, dir) -> {
            boolean in = lines.stream().map(l -> l.split(":", 3)).anyMatch(f -> f.length == 3 && f[2].equals(path)
                    && (cgroups.version(controller) == 2 ? f[0].equals("0") && f[1].isEmpty()
                            : List.of(f[1].split(",")).contains(controller)));
            if (!in) {
                missing.add(dir);
            }
        });
        return missing;
    }

    @Override
    public void cleanup(ContainerContext context) throws IOException {
        destroyCgroups(cgroupsOf(context.containerId()));
    }

    /** Removes the cgroups of containers that no longer exist (a crash between launch and record). */
    @Override
    public void recover(List<ContainerContext> containers) throws IOException {
        Set<String> known = new HashSet<>();
        containers.forEach(c -> known.add(c.containerId()));
        Set<String> orphans = new HashSet<>();
        for (String controller : CONTROLLERS) {
            Optional<CgroupHierarchy> h = hierarchies.forController(controller);
            if (h.isEmpty()) {
                continue;
            }
            Path parentDir = h.get().mountPoint().resolve(parent);
            if (!Files.isDirectory(parentDir)) {
                continue;
            }
            try (DirectoryStream<Path> entries = Files.newDirectoryStream(parentDir, Files::isDirectory)) {
                for (Path entry : entries) {
                    String id = entry.getFileName().toString();
                    if (!known.contains(id)) {
                        orphans.add(id);
                    }
                }
            }
        }
        for (String id : orphans) {
            destroyCgroups(cgroupsOf(id));
        }
    }

    /** Kills every process left in the container's cgroups, then removes them. Idempotent. */
    void destroyCgroups(ContainerCgroups cgroups) throws IOException {
        Set<Path> dirs = cgroups.distinctDirectories();
        dirs.removeIf(d -> !Files.isDirectory(d));
        if (dirs.isEmpty()) {
            return;
        }
        if (dirs.stream().anyMatch(d -> !pids(d).isEmpty())) {
            killAll(cgroups, dirs); // the usual case, a task that exited by itself, needs no freeze and kill
        }
        for (Path dir : dirs) {
            removeDirectory(dir);
        }
    }

    /**
     * Freezes the cgroup (v1 freezer) so nothing forks while it is being emptied, SIGKILLs every
     * process, thaws, and waits until the cgroups are empty. On v2, cgroup.kill does all of it.
     */
    private static void killAll(ContainerCgroups cgroups, Set<Path> dirs) throws IOException {
        Optional<Path> unified = dirs.stream().filter(d -> CgroupFiles.exists(d, "cgroup.kill")).findFirst();
        if (unified.isPresent()) {
            CgroupFiles.write(unified.get(), "cgroup.kill", "1");
        } else {
            Optional<Path> freezer = cgroups.of("freezer").filter(d -> cgroups.version("freezer") == 1)
                    .filter(Files::isDirectory);
            freezer.ifPresent(f -> CgroupFiles.write(f, "freezer.state", "FROZEN"));
            try {
                for (Path dir : dirs) {
                    for (long pid : pids(dir)) {
                        try {
                            LibC.kill(pid, LibC.SIGKILL);
                        } catch (ErrnoException e) {
                            if (e.errno() != LibC.ESRCH) {
                                throw e;
                            }
                        }
                    }
                }
            } finally {
                freezer.ifPresent(f -> CgroupFiles.write(f, "freezer.state", "THAWED"));
            }
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        for (Path dir : dirs) {
            while (!pids(dir).isEmpty()) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("processes " + pids(dir) + " of " + dir + " did not die after SIGKILL");
                }
                sleep(1);
            }
        }
    }

    static List<Long> pids(Path dir) {
        return CgroupFiles.read(dir, "cgroup.procs").map(text -> text.isEmpty() ? List.<Long>of()
                : text.lines().map(Long::parseLong).toList()).orElse(List.of());
    }

    /** rmdir; the kernel may report EBUSY for a moment after the last process died. */
    private static void removeDirectory(Path dir) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                Files.delete(dir);
                return;
            } catch (NoSuchFileException e) {
                return;
            } catch (IOException e) {
                if (attempt >= 1000) {
                    throw new IOException("cannot remove cgroup " + dir + ": " + e.getMessage(), e);
                }
                sleep(1);
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a cgroup", e);
        }
    }
}
