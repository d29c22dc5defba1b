package dev.vessel.isolators.cgroups;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Resources;
import dev.vessel.core.paths.Trees;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.LibC;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

/**
 * Gives each container its own cgroup in every hierarchy Vessel uses ({@code <mount>/<parent>/<id>}; a pod's
 * member {@code <mount>/<parent>/<pod>/<id>}, so the pod's limits cap its members together; a container with a
 * {@code cgroup_path} of its own, as an engine asks through an OCI bundle, {@code <mount><cgroup_path>}), puts
 * the task in it, and at cleanup kills whatever is left there and removes the directories (never the parents of
 * a {@code cgroup_path}, which belong to whoever picked it). The controller isolators ({@code cgroups/memory},
 * …) set limits on what this one creates.
 */
public final class CgroupsIsolator implements Isolator {
    /** Controllers Vessel places containers in, when the host has them. */
    public static final Set<String> CONTROLLERS = Set.of("cpu", "cpuacct", "cpuset", "memory", "pids", "devices",
            "freezer");
    /**
     * The controller a container is placed with only when it asks for its limits ({@code resources.hugepage_limits}):
     * on a hybrid host it is often the v2 hierarchy's only one, where every other container would get a cgroup for
     * nothing.
     */
    public static final String HUGETLB = "hugetlb";

    /** Where a pod's task runs below the pod's v2 cgroup (not a container id: those start with a letter or digit). */
    static final String POD_TASK_CGROUP = "_pause";

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

    /**
     * Where a container's cgroups are; derived from its config, so nothing needs checkpointing:
     * {@code <parent>/<id>}, a pod's member {@code <parent>/<pod>/<id>}, or its own {@code cgroup_path}.
     */
    public ContainerCgroups cgroupsOf(ContainerContext container) {
        return cgroupsAt(pathFromRoot(container.config()), limitsHugepages(container.config()));
    }

    /** Whether the container is placed with the hugetlb controller: it has limits for it (set at create). */
    static boolean limitsHugepages(ContainerConfig config) {
        return config.getResources().getHugepageLimitsCount() > 0;
    }

    /** The container's cgroup as a path from each hierarchy's root, without the leading '/'. */
    private String pathFromRoot(ContainerConfig config) {
        String own = config.getCgroupPath();
        return own.isEmpty() ? parent + "/" + relativePath(config) : own.substring(1);
    }

    /** The container's cgroup below the cgroup parent: its id, under its pod's for a member. */
    static String relativePath(ContainerConfig config) {
        return config.getParentId().isEmpty() ? config.getId() : config.getParentId() + "/" + config.getId();
    }

    private ContainerCgroups cgroupsAt(String fromRoot, boolean withHugetlb) {
        Map<String, Path> dirs = new LinkedHashMap<>();
        Map<String, Integer> versions = new LinkedHashMap<>();
        for (String controller : controllers(withHugetlb)) {
            hierarchies.forController(controller).ifPresent(h -> {
                dirs.put(controller, h.mountPoint().resolve(fromRoot));
                versions.put(controller, h.version());
            });
        }
        return new ContainerCgroups(Map.copyOf(dirs), Map.copyOf(versions));
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) throws IOException {
        ContainerConfig config = context.config();
        refuseInsideParent(config.getCgroupPath());
        refuseWithoutController(config.getResources());
        ContainerCgroups cgroups = cgroupsOf(context);
        String own = config.getCgroupPath();
        hierarchies.unified().ifPresent(unified -> enableV2Controllers(unified, own.isEmpty() ? parent
                : own.substring(1, own.lastIndexOf('/') + 1), limitsHugepages(config)));
        for (Path dir : cgroups.distinctDirectories()) {
            if (Files.exists(dir)) {
                throw new VesselException(ErrorCode.ALREADY_EXISTS, dir.toString(),
                        "a cgroup for container '" + context.containerId() + "' exists already");
            }
            if (!config.getParentId().isEmpty() && !Files.isDirectory(dir.getParent())) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, "parent_id",
                        "the cgroup of pod '" + config.getParentId() + "' is gone: " + dir.getParent());
            }
            if (cgroups.of("cpuset").filter(dir::equals).isPresent() && cgroups.version("cpuset") == 1) {
                createV1Cpuset(dir);
            } else {
                Trees.createDirectories(dir);
            }
        }
        Set<Path> taskDirs = cgroups.distinctDirectories();
        Optional<Path> unified = cgroups.unified();
        if (unified.isPresent() && config.getPod()) {
            // v2 lets only a leaf hold processes once its children get controllers: the pause is one level down
            Path pause = unified.get().resolve(POD_TASK_CGROUP);
            Trees.createDirectories(pause);
            taskDirs.remove(unified.get());
            taskDirs.add(pause);
        } else if (unified.isPresent() && !config.getParentId().isEmpty()) {
            Path podDir = unified.get().getParent();
            CgroupFiles.write(podDir, "cgroup.subtree_control", enabling(v2Controllers(false)));
        }
        context.put(CgroupKeys.CGROUPS, cgroups);
        // the launcher starts the task in them: cheaper than a move, and nothing runs outside first
        return LaunchInfo.newBuilder().addAllCgroups(taskDirs.stream().map(Path::toString).toList()).build();
    }

    /** A cpuset or hugetlb limit asked for on a node without its controller would be ignored: refused instead. */
    private void refuseWithoutController(Resources r) {
        String field = !r.getCpusetCpus().isEmpty() ? "resources.cpuset_cpus"
                : !r.getCpusetMems().isEmpty() ? "resources.cpuset_mems" : null;
        if (field != null && hierarchies.forController("cpuset").isEmpty()) {
            throw new VesselException(ErrorCode.UNAVAILABLE, field,
                    "no cgroup hierarchy on this node has the cpuset controller to hold it");
        }
        if (r.getHugepageLimitsCount() > 0 && hierarchies.forController(HUGETLB).isEmpty()) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "resources.hugepage_limits",
                    "no cgroup hierarchy on this node has the hugetlb controller to hold them");
        }
    }

    /**
     * Makes {@code dir} and its missing parents in the v1 cpuset hierarchy, each given its parent's CPUs and memory
     * nodes: a new v1 cpuset starts with none, and no task could join it (as runc fills them).
     */
    static void createV1Cpuset(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        createV1Cpuset(dir.getParent());
        Trees.createDirectories(dir);
        for (String file : List.of("cpuset.cpus", "cpuset.mems")) {
            CgroupFiles.write(dir, file, CgroupFiles.read(dir.getParent(), file).orElse(""));
        }
    }

    /**
     * A {@code cgroup_path} in the node's parent would pass for an orphan at recovery (and one above it would
     * hold every container): what an engine picks lives beside Vessel's, not in it.
     */
    private void refuseInsideParent(String own) {
        String ours = "/" + parent;
        if (!own.isEmpty() && (own.equals(ours) || own.startsWith(ours + "/") || ours.startsWith(own + "/"))) {
            throw VesselException.invalid("cgroup_path", "'" + own + "' is " + (ours.startsWith(own + "/") ? "above"
                    : "inside") + " the node's own cgroup parent " + ours + ": pick a path beside it");
        }
    }

    /** The controllers a container is placed with: {@link #CONTROLLERS}, and hugetlb for one that limits it. */
    private static Set<String> controllers(boolean withHugetlb) {
        if (!withHugetlb) {
            return CONTROLLERS;
        }
        Set<String> all = new HashSet<>(CONTROLLERS);
        all.add(HUGETLB);
        return all;
    }

    /** The controllers Vessel uses through the v2 hierarchy (for a container that limits huge pages, hugetlb too). */
    private List<String> v2Controllers(boolean withHugetlb) {
        return controllers(withHugetlb).stream().sorted()
                .filter(c -> hierarchies.forController(c).filter(CgroupHierarchy::unified).isPresent()).toList();
    }

    /**
     * On v2 a child only gets a controller that every ancestor enabled in cgroup.subtree_control: from the root
     * down to {@code parentPath} (the node's parent, or the parent of a container's own path; "": the root).
     */
    private void enableV2Controllers(CgroupHierarchy unified, String parentPath, boolean withHugetlb) {
        List<String> routedToV2 = v2Controllers(withHugetlb);
        if (routedToV2.isEmpty()) {
            return; // a hybrid host whose v2 hierarchy holds nothing Vessel uses
        }
        Path root = unified.mountPoint();
        Path parentDir = root.resolve(parentPath);
        try {
            Trees.createDirectories(parentDir);
        } catch (IOException e) {
            throw VesselException.internal(parentDir.toString(), "cannot create the cgroup parent: " + e.getMessage(), e);
        }
        enableAlongPath(root, parentDir, routedToV2);
    }

    /** Enables {@code controllers} in every cgroup from {@code root} down to {@code parentDir}: one write each. */
    static void enableAlongPath(Path root, Path parentDir, List<String> controllers) {
        String enable = enabling(controllers);
        Path dir = root;
        for (Path part : root.relativize(parentDir)) {
            CgroupFiles.write(dir, "cgroup.subtree_control", enable);
            dir = dir.resolve(part);
        }
        CgroupFiles.write(dir, "cgroup.subtree_control", enable);
    }

    /** What cgroup.subtree_control takes to enable them all at once ("+cpu +memory"): a launch writes it per level. */
    private static String enabling(List<String> controllers) {
        return controllers.stream().map(c -> "+" + c).collect(Collectors.joining(" "));
    }

    /**
     * Moves the task into those of its cgroups its launcher did not start it in (a launcher that
     * honours {@code LaunchInfo.cgroups} leaves nothing to do). On v1 each move waits for an RCU
     * grace period, and moves made together share one instead of paying one each.
     */
    @Override
    public void isolate(ContainerContext context, long pid) throws Exception {
        ContainerCgroups cgroups = cgroupsOf(context);
        String path = "/" + pathFromRoot(context.config());
        Set<Path> missing = notYetIn(pid, cgroups, path, context.config().getPod() ? path + "/" + POD_TASK_CGROUP : path);
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
    private static Set<Path> notYetIn(long pid, ContainerCgroups cgroups, String path, String v2Path)
            throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"));
        Set<Path> missing = new LinkedHashSet<>();
        cgroups.directories().forEach((controller, dir) -> {
            boolean v2 = cgroups.version(controller) == 2;
            boolean in = lines.stream().map(l -> l.split(":", 3)).anyMatch(f -> f.length == 3
                    && f[2].equals(v2 ? v2Path : path)
                    && (v2 ? f[0].equals("0") && f[1].isEmpty() : List.of(f[1].split(",")).contains(controller)));
            if (!in) {
                missing.add(v2 && !v2Path.equals(path) ? dir.resolve(POD_TASK_CGROUP) : dir);
            }
        });
        return missing;
    }

    /**
     * A pause: the v1 freezer's {@code freezer.state} (FROZEN once every process stopped; it passes through
     * FREEZING) or v2's {@code cgroup.freeze} (done when {@code cgroup.events} says {@code frozen 1}). Either
     * freezes the cgroups below too (a pod's members).
     */
    @Override
    public boolean freeze(ContainerContext context, boolean frozen) throws IOException {
        ContainerCgroups cgroups = cgroupsOf(context);
        Optional<Path> v1 = cgroups.of("freezer").filter(d -> cgroups.version("freezer") == 1);
        Optional<Path> v2 = cgroups.unified().filter(d -> CgroupFiles.exists(d, "cgroup.freeze"));
        if (v1.isPresent()) {
            String state = frozen ? "FROZEN" : "THAWED";
            awaitFreezer(v1.get(), "freezer.state", state, () -> CgroupFiles.read(v1.get(), "freezer.state")
                    .orElse("").equals(state));
            return true;
        }
        if (v2.isPresent()) {
            String want = "frozen " + (frozen ? 1 : 0);
            awaitFreezer(v2.get(), "cgroup.freeze", frozen ? "1" : "0", () -> CgroupFiles.read(v2.get(), "cgroup.events")
                    .orElse("").lines().anyMatch(want::equals));
            return true;
        }
        return false;
    }

    /**
     * Writes {@code value} until {@code done} (v1 stays FREEZING while a process sleeps uninterruptibly, and
     * a write again retries it, as runc does); after 10 s the cgroup is thawed and the freeze fails.
     */
    private static void awaitFreezer(Path dir, String file, String value, java.util.function.BooleanSupplier done)
            throws IOException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        for (int attempt = 0; ; attempt++) {
            if (attempt % 10 == 0) {
                CgroupFiles.write(dir, file, value);
            }
            if (done.getAsBoolean()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                CgroupFiles.write(dir, file, file.equals("freezer.state") ? "THAWED" : "0");
                throw new IOException(dir + " did not become " + value + " within 10 s");
            }
            sleep(1);
        }
    }

    /** Every process in the container's cgroup and below it (a pod's members), as runc's {@code ps} lists them. */
    @Override
    public List<Long> processes(ContainerContext context) throws IOException {
        ContainerCgroups cgroups = cgroupsOf(context);
        Optional<Path> top = cgroups.of("pids").or(cgroups::unified).or(() -> cgroups.distinctDirectories().stream()
                .findFirst());
        List<Long> found = new ArrayList<>();
        if (top.isPresent()) {
            for (Path dir : subtree(top.get())) {
                found.addAll(pids(dir));
            }
        }
        return found;
    }

    @Override
    public void cleanup(ContainerContext context) throws IOException {
        destroyCgroups(cgroupsOf(context));
    }

    /**
     * Removes the cgroups of containers that no longer exist (a crash between launch and record, a pod or
     * member removed while no daemon ran): at the parent's level and, under a live pod's, its members' level.
     */
    @Override
    public void recover(List<ContainerContext> containers) throws IOException {
        Set<String> known = new HashSet<>();
        containers.stream().filter(c -> c.config().getCgroupPath().isEmpty())
                .forEach(c -> known.add(relativePath(c.config())));
        Set<String> orphans = new TreeSet<>();
        for (String controller : controllers(true)) {
            Optional<CgroupHierarchy> h = hierarchies.forController(controller);
            if (h.isEmpty()) {
                continue;
            }
            Path parentDir = h.get().mountPoint().resolve(parent);
            for (Path entry : subdirectories(parentDir)) {
                String id = entry.getFileName().toString();
                if (!known.contains(id)) {
                    orphans.add(id);
                    continue;
                }
                for (Path nested : subdirectories(entry)) {
                    String relative = id + "/" + nested.getFileName();
                    if (!nested.getFileName().toString().equals(POD_TASK_CGROUP) && !known.contains(relative)) {
                        orphans.add(relative);
                    }
                }
            }
        }
        for (String relative : orphans) {
            destroyCgroups(cgroupsAt(parent + "/" + relative, true));
        }
    }

    private static List<Path> subdirectories(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir, Files::isDirectory)) {
            List<Path> found = new ArrayList<>();
            entries.forEach(found::add);
            return found;
        }
    }

    /**
     * Kills every process left in the container's cgroups, then removes them, nested ones (a pod's pause
     * and members a crash left) first. Idempotent.
     */
    void destroyCgroups(ContainerCgroups cgroups) throws IOException {
        Set<Path> dirs = new LinkedHashSet<>();
        for (Path top : cgroups.distinctDirectories()) {
            dirs.addAll(subtree(top));
        }
        if (dirs.isEmpty()) {
            return;
        }
        releaseWatchers(cgroups);
        if (dirs.stream().anyMatch(d -> !pids(d).isEmpty())) {
            killAll(cgroups, dirs); // the usual case, a task that exited by itself, needs no freeze and kill
        }
        for (Path dir : dirs) {
            removeDirectory(dir);
        }
    }

    /**
     * A process in the container's v1 {@code cpuacct} cgroup and not where its task is confined (its freezer or
     * pids cgroup) only watches it: an engine's shim, which joined to be found there (an engine takes its pid
     * file's process for the container). It goes back to the hierarchy's root instead of being killed.
     */
    private void releaseWatchers(ContainerCgroups cgroups) {
        Optional<Path> accounting = cgroups.of("cpuacct").filter(d -> cgroups.version("cpuacct") == 1);
        Optional<Path> confined = cgroups.of("freezer").or(() -> cgroups.of("pids"))
                .filter(d -> accounting.isPresent() && !d.equals(accounting.get()));
        if (accounting.isEmpty() || confined.isEmpty()) {
            return;
        }
        List<Long> watchers = new ArrayList<>(pids(accounting.get()));
        watchers.removeAll(pids(confined.get()));
        Path root = hierarchies.forController("cpuacct").orElseThrow().mountPoint();
        for (long pid : watchers) {
            try {
                CgroupFiles.write(root, "cgroup.procs", Long.toString(pid));
            } catch (RuntimeException e) {
                // it ended meanwhile; anything else left is killed with the rest
            }
        }
    }

    /** {@code top} and the directories below it, deepest first; empty when it does not exist. */
    private static List<Path> subtree(Path top) throws IOException {
        List<Path> out = new ArrayList<>();
        for (Path child : subdirectories(top)) {
            out.addAll(subtree(child));
        }
        if (Files.isDirectory(top)) {
            out.add(top);
        }
        return out;
    }

    /**
     * Freezes the cgroup (v1 freezer) so nothing forks while it is being emptied, SIGKILLs every
     * process, thaws, and waits until the cgroups are empty. On v2, cgroup.kill does all of it.
     */
    private static void killAll(ContainerCgroups cgroups, Set<Path> dirs) throws IOException {
        // the container's own v2 directory: its cgroup.kill reaches everything below it too
        Optional<Path> unified = cgroups.unified().filter(d -> CgroupFiles.exists(d, "cgroup.kill"));
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
