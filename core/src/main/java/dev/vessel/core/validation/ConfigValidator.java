package dev.vessel.core.validation;

import dev.vessel.core.cpu.CpuList;
import dev.vessel.core.cpu.CpuWeight;
import dev.vessel.core.device.ContainerDevices;
import dev.vessel.core.device.HostDevice;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.ValidationException;
import dev.vessel.core.error.ValidationException.Violation;
import dev.vessel.core.gpu.PciAddress;
import dev.vessel.core.lifecycle.RestartRules;
import dev.vessel.core.lifecycle.StopRules;
import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.CloudInit;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Device;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.FetchUri;
import dev.vessel.core.model.HealthCheck;
import dev.vessel.core.model.HostEntry;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.PortMapping;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Rlimit;
import dev.vessel.core.model.Seccomp;
import dev.vessel.core.model.VmDisk;
import dev.vessel.core.model.VmMachine;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.model.Volume;
import dev.vessel.core.network.NetworkNames;
import dev.vessel.core.seccomp.SeccompProfile;
import dev.vessel.core.spi.TaskSandbox;
import dev.vessel.core.sysctl.Sysctls;
import dev.vessel.core.userns.IdMaps;
import dev.vessel.core.userns.UserNamespaceMode;
import dev.vessel.core.vm.VmSizing;
import dev.vessel.linux.Capability;
import dev.vessel.linux.RlimitType;
import dev.vessel.linux.Signals;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Checks a {@link ContainerConfig} on its own, before anything is created. Every problem is reported
 * with the field it concerns (protobuf field names, indexes in brackets: {@code volumes[1].target}).
 * Checks that need the node's state (a duplicate id, an unknown parent) are the containerizer's.
 */
public final class ConfigValidator {
    /** No runtime can start a process in less; a smaller limit is a typo (bytes for MiB). */
    public static final long MIN_MEMORY_BYTES = 4L << 20;
    public static final int MAX_VCPUS = 255;
    /** A NoCloud seed's bounds: user-data as large as EC2 takes four times over, keys as long as any. */
    static final int MAX_USER_DATA_CHARS = 64 * 1024;
    static final int MAX_SSH_KEYS = 64;
    static final int MAX_SSH_KEY_CHARS = 16 * 1024;
    static final int MAX_INSTANCE_ID = 128;
    public static final double MIN_CPUS = 0.01;
    /** cgroup v1's cpu.shares range, which the v2 weight is mapped from. */

    /**
     * Why a VM task's update keeps its cpuset: libvirt pins the vCPUs and QEMU's own threads as the VM boots, and its
     * Java binding can move only the vCPUs live, which would leave the emulator threads where they were.
     */
    private static final String VM_PINNED = "a VM task's CPUs and memory nodes pin its VM (its vCPUs and QEMU's"
            + " threads) when it boots and stay while it runs: recreate the task to move it";
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
    /** What a host-path volume's bind may add: the flags that only take rights away. */
    private static final List<String> BIND_OPTIONS = List.of("nosuid", "nodev", "noexec");
    private static final Pattern HOSTNAME =
            Pattern.compile("(?=.{1,64}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*");
    /** A search domain: a host name's labels, up to 253 characters, a root's dot allowed. */
    private static final Pattern DOMAIN =
            Pattern.compile("(?=.{1,254}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    + "(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\\.?");
    /** A resolv.conf option: a word, with a number after a colon for those that take one (ndots:2). */
    private static final Pattern DNS_OPTION = Pattern.compile("[a-z][a-z0-9_-]{0,31}(:[0-9]{1,5})?");
    /** A health check's interval and timeout: at least a second (a check is an exec), at most a day. */
    static final long MIN_HEALTH_MS = 1000, MAX_HEALTH_MS = 86_400_000;
    /** What {@code namespace_paths} may name: the kinds the launcher joins before its clone. */
    static final Set<String> JOINABLE_NAMESPACES = Set.of("ipc", "uts", "pid", "cgroup");
    /** What glibc's resolver reads at most (MAXNS is 3; more search domains than this are a mistake). */
    static final int MAX_DNS_SERVERS = 3, MAX_DNS_SEARCH = 32, MAX_DNS_OPTIONS = 32, MAX_EXTRA_HOSTS = 256;
    private static final Pattern USER_PART = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}");
    private static final Pattern GROUP_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_.-]{0,31}");
    private static final Pattern DIGEST = Pattern.compile("[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}");
    private static final Pattern NETWORK = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    /** One level of a cgroup path: what engines use (podman's libpod-ID, Kubernetes' pod<uid>, containerd's namespace). */
    private static final Pattern CGROUP_NAME = Pattern.compile("[A-Za-z0-9_.:@+-]{1,255}");
    /** Disk image formats QEMU is told explicitly (never probed: a guest could forge a qcow2 header in a raw image). */
    public static final Set<String> VM_DISK_FORMATS = Set.of("raw", "qcow2");
    /** Filesystems a VM task's disk may carry: the ones the guest kernel has built in. */
    public static final Set<String> VM_DISK_FS_TYPES = Set.of("ext4");

    /** A seccomp profile is a few tens of KiB (Docker's is 20); past this it is a mistake. */
    public static final int MAX_SECCOMP_PROFILE_CHARS = 1 << 20;

    private final NodeCapacity capacity;

    public ConfigValidator(NodeCapacity capacity) {
        this.capacity = capacity;
    }

    /** Throws a {@link ValidationException} listing every problem, or returns quietly. */
    public void validate(ContainerConfig config) {
        List<Violation> violations = new ArrayList<>();
        new Check(violations).config(config);
        if (!violations.isEmpty()) {
            throw new ValidationException(violations);
        }
    }

    /**
     * Checks {@code resources} as the new limits of the running container of {@code current}: as a config, keeping
     * huge page limits if and only if it has some (a container is placed with hugetlb at create, or not), for a
     * full VM changing its CPU weight and limit alone (the rest sized its machine, which an update does not resize),
     * and for a VM task keeping its pinning.
     */
    public void validateUpdate(ContainerConfig current, Resources resources) {
        List<Violation> violations = new ArrayList<>();
        Check check = new Check(violations);
        check.config(current.toBuilder().setResources(resources).build());
        boolean had = current.getResources().getHugepageLimitsCount() > 0;
        if (had != resources.getHugepageLimitsCount() > 0) {
            check.fail("resources.hugepage_limits", had
                    ? "the container was created with huge page limits: an update changes them, it cannot drop them"
                    : "the container was created without huge page limits: an update cannot add them");
        }
        if (bootsDiskImage(current) && !resources.toBuilder().clearCpuShares().clearCpus().build()
                .equals(current.getResources().toBuilder().clearCpuShares().clearCpus().build())) {
            check.fail("resources", "a full VM (vm.machine) changes only resources.cpu_shares and resources.cpus, its"
                    + " CPU weight and limit on the host, while it runs: its vCPUs, memory and pinning are its"
                    + " machine's, set when it boots");
        } else if (current.getIsolation() == Isolation.VM) {
            Resources was = current.getResources();
            if (!resources.getCpusetCpus().strip().equals(was.getCpusetCpus().strip())) {
                check.fail("resources.cpuset_cpus", VM_PINNED);
            }
            if (!resources.getCpusetMems().strip().equals(was.getCpusetMems().strip())) {
                check.fail("resources.cpuset_mems", VM_PINNED);
            }
        }
        if (!violations.isEmpty()) {
            throw new ValidationException(violations);
        }
    }

    /**
     * Throws a {@link ValidationException} listing every problem of a process to exec into a running
     * container, or returns quietly; the fields are named as in {@link ExecConfig}.
     */
    public void validateExec(ExecConfig exec) {
        List<Violation> violations = new ArrayList<>();
        new Check(violations).exec(exec);
        if (!violations.isEmpty()) {
            throw new ValidationException(violations);
        }
    }

    /** What is wrong with a {@code cgroup_path} (an absolute path of clean levels), if anything. */
    public static Optional<String> cgroupPathProblem(String path) {
        if (!path.startsWith("/") || path.equals("/") || path.length() > 4096) {
            return Optional.of(Quoted.of(path) + " must be an absolute cgroup path below the root such as"
                    + " /machine/web-1, at most 4096 characters");
        }
        for (String level : path.substring(1).split("/", -1)) {
            if (!CGROUP_NAME.matcher(level).matches() || level.equals(".") || level.equals("..")) {
                return Optional.of(Quoted.of(path) + ": level " + Quoted.of(level) + " must be 1 to 255 letters,"
                        + " digits or '_', '.', ':', '@', '+', '-' (not '.' or '..')");
            }
        }
        return Optional.empty();
    }

    /** True for a valid container id (also used for persistent volume names). */
    public static boolean isValidId(String id) {
        return ID.matcher(id).matches() && !id.contains("..");
    }

    /** The checks of one validation, collecting violations. */
    private final class Check {
        private final List<Violation> out;

        Check(List<Violation> out) {
            this.out = out;
        }

        private void fail(String field, String problem) {
            out.add(new Violation(field, problem));
        }

        void config(ContainerConfig c) {
            id("id", c.getId(), true);
            Isolation isolation = c.getIsolation();
            switch (isolation) {
                case PROCESS, VM -> { }
                case ISOLATION_UNSPECIFIED -> fail("isolation", "must be PROCESS or VM");
                default -> fail("isolation", "unknown isolation " + c.getIsolationValue() + "; must be PROCESS or VM");
            }
            command(c);
            root(c);
            pathRules(c);
            resources(c.getResources());
            hugepageLimits(c);
            namespacePaths(c);
            env(c.getEnvList());
            if (!c.getWorkingDir().isEmpty()) {
                absolutePath("working_dir", c.getWorkingDir());
            }
            if (!c.getUser().isEmpty()) {
                user(c.getUser());
            }
            for (int i = 0; i < c.getAdditionalGroupsCount(); i++) {
                String group = c.getAdditionalGroups(i);
                if (!GROUP_NAME.matcher(group).matches()) {
                    fail("additional_groups[" + i + "]", Quoted.of(group) + " must be a group's name (a letter or '_',"
                            + " then letters, digits, '_', '.' or '-'; at most 32): a number goes in additional_gids");
                }
            }
            Set<String> targets = volumes(c.getVolumesList(), isolation);
            devices(c, targets);
            networks(c.getNetworksList(), isolation);
            networkNamespacePath(c);
            sysctls(c);
            resolver(c);
            if (c.hasHealthCheck()) {
                healthCheck(c);
            }
            capabilities(c.getCapabilities());
            rlimits(c.getRlimitsList());
            if (!c.getHostname().isEmpty() && !HOSTNAME.matcher(c.getHostname()).matches()) {
                fail("hostname", Quoted.of(c.getHostname()) + " is not a valid host name (letters, digits, '-' and"
                        + " '.', at most 64 characters, no leading or trailing '-')");
            }
            if (c.hasVm()) {
                vm(c.getVm(), isolation, targets);
                keepRootfsOwners(c);
            }
            if (!c.getParentId().isEmpty()) {
                id("parent_id", c.getParentId(), false);
                if (c.getParentId().equals(c.getId())) {
                    fail("parent_id", "a container cannot be its own parent");
                }
            }
            pod(c);
            uris(c.getUrisList());
            if (c.getUrisCount() > 0) {
                for (int i = 0; i < c.getVolumesCount(); i++) {
                    if (normalize(c.getVolumes(i).getTarget()).equals(TaskSandbox.TARGET)) {
                        fail("volumes[" + i + "].target", TaskSandbox.TARGET + " is where the container's fetched uris are");
                    }
                }
            }
            userns(c);
            oomScore(c);
            cgroupPath(c);
            lifecycle(c);
            if (c.hasSeccomp()) {
                seccomp(c.getSeccomp());
            }
            if (isolation == Isolation.VM) {
                notYetInVms(c);
            }
            stdio(c);
            c.getLabelsMap().keySet().forEach(k -> {
                if (k.isBlank()) {
                    fail("labels", "a label key must not be empty");
                }
            });
        }

        /** A full VM has no task whose stdio could be a terminal or take input: its console is the serial one. */
        private void stdio(ContainerConfig c) {
            String why = "a full VM (vm.machine) has no task stdio; attach to its serial console (vessel vm console)";
            if (bootsDiskImage(c) && c.getTty()) {
                fail("tty", why);
            }
            if (bootsDiskImage(c) && c.getInteractive()) {
                fail("interactive", why);
            }
        }

        void exec(ExecConfig e) {
            if (e.getCommandCount() == 0) {
                fail("command", "must not be empty: give the program to run in the container");
            } else if (e.getCommand(0).isEmpty()) {
                fail("command[0]", "the program must not be an empty string");
            }
            for (int i = 0; i < e.getCommandCount(); i++) {
                noNul("command[" + i + "]", e.getCommand(i));
            }
            env(e.getEnvList());
            if (!e.getUser().isEmpty()) {
                user(e.getUser());
            }
            if (!e.getWorkingDir().isEmpty()) {
                absolutePath("working_dir", e.getWorkingDir());
            }
        }

        /**
         * A pod holds namespaces and limits for its members and runs nothing of its own; a member shares its
         * pod's network and host name, so it names neither.
         */
        private void pod(ContainerConfig c) {
            if (c.getPod()) {
                String why = "a pod runs no task of its own: give it to a member (vessel run --pod)";
                if (!c.getParentId().isEmpty()) {
                    fail("parent_id", "a pod is not nested in another container");
                }
                if (c.getRootCase() != ContainerConfig.RootCase.ROOT_NOT_SET) {
                    fail(c.hasImage() ? "image" : "host_rootfs", why);
                }
                if (c.getCommandCount() > 0 || c.getArgsCount() > 0) {
                    fail(c.getCommandCount() > 0 ? "command" : "args", why);
                }
                if (c.getVolumesCount() > 0) {
                    fail("volumes", "a pod has no filesystem of its own: give volumes to its members");
                }
                if (c.getUrisCount() > 0) {
                    fail("uris", why);
                }
                if (c.getInit() || c.getTty() || c.getInteractive()) {
                    fail(c.getInit() ? "init" : c.getTty() ? "tty" : "interactive", why);
                }
                if (c.getReadOnlyRootfs()) {
                    fail("read_only_rootfs", "a pod has no root filesystem");
                }
                if (c.getUserns().equals(UserNamespaceMode.AUTO.configName())) {
                    fail("userns", "auto is not for a pod: its members join its namespaces as they are");
                }
                if (bootsDiskImage(c)) {
                    fail("vm.machine", "a pod's VM runs its members, it boots no disk image");
                }
                return;
            }
            if (!c.getParentId().isEmpty()) {
                if (c.getNetworksCount() > 0) {
                    fail("networks", "a pod's member shares its pod's network namespace: give networks and ports to"
                            + " the pod");
                }
                if (!c.getHostname().isEmpty()) {
                    fail("hostname", "a pod's member shares its pod's host name: give it to the pod");
                }
                if (!c.getNetworkNamespacePath().isEmpty()) {
                    fail("network_namespace_path", "a pod's member joins its pod's network namespace");
                }
            }
        }

        /**
         * "", host or auto. auto is for process containers: a VM task's boundary is its VM (the guest runs
         * that one task), and a nested container lives in its parent's namespaces.
         */
        private void oomScore(ContainerConfig c) {
            if (c.hasOomScoreAdj() && (c.getOomScoreAdj() < -1000 || c.getOomScoreAdj() > 1000)) {
                fail("oom_score_adj", c.getOomScoreAdj() + " is not from -1000 to 1000");
            }
        }

        private void userns(ContainerConfig c) {
            boolean maps = c.getUidMapCount() > 0 || c.getGidMapCount() > 0;
            if (c.getUserns().isEmpty() && !maps) {
                return;
            }
            Optional<UserNamespaceMode> named = c.getUserns().isEmpty() ? Optional.of(UserNamespaceMode.PRIVATE)
                    : UserNamespaceMode.byName(c.getUserns());
            if (named.isEmpty()) {
                fail("userns", UserNamespaceMode.problem(c.getUserns()));
                return;
            }
            UserNamespaceMode mode = named.get();
            String name = mode.configName();
            if (mode.own() && c.getIsolation() == Isolation.VM) {
                fail("userns", name + " is for process containers: a VM task is isolated by its VM, use host or leave"
                        + " it empty");
            }
            if (mode.own() && !c.getParentId().isEmpty()) {
                fail("userns", name + " is not for a nested container, which runs in its parent's namespaces");
            }
            if (mode != UserNamespaceMode.PRIVATE) {
                if (maps) {
                    fail(c.getUidMapCount() > 0 ? "uid_map" : "gid_map", "is only for userns private (or empty): "
                            + name + (mode == UserNamespaceMode.HOST ? " has no maps of its own"
                            : " takes its ids from the node"));
                }
                return;
            }
            for (String field : List.of("uid_map", "gid_map")) {
                var map = field.equals("uid_map") ? c.getUidMapList() : c.getGidMapList();
                if (map.isEmpty()) {
                    fail(field, "is required with userns private: the user namespace's ids need a host range");
                    continue;
                }
                IdMaps.problem(field, map).ifPresent(p -> fail(p.field(), p.message()));
                if (c.hasImage() && !IdMaps.maps(map, 0)) {
                    fail(field, "maps no container id 0: an image's rootfs is idmapped to the namespace's root");
                }
            }
        }

        /** init, how it stops and whether it restarts. */
        private void lifecycle(ContainerConfig c) {
            if (c.getInit() && bootsDiskImage(c)) {
                fail("init", "a full VM (vm.machine) runs its image's own init, no task");
            }
            if (!c.getStopSignal().isEmpty() && Signals.parse(c.getStopSignal()).isEmpty()) {
                fail("stop_signal", Quoted.of(c.getStopSignal()) + " is not a signal: give " + Signals.accepted());
            }
            if (c.getStopTimeoutSeconds() < 0 || c.getStopTimeoutSeconds() > StopRules.MAX_TIMEOUT_SECONDS) {
                fail("stop_timeout_seconds", c.getStopTimeoutSeconds() + " is not from 0 to "
                        + StopRules.MAX_TIMEOUT_SECONDS + " (0: the default, " + StopRules.DEFAULT_TIMEOUT.toSeconds()
                        + " s)");
            }
            if (c.hasRestart()) {
                RestartRules.problem(c.getRestart()).ifPresent(p -> fail("restart." + p.field(), p.message()));
                if (!c.getParentId().isEmpty() && RestartRules.restartsAtAll(c.getRestart())) {
                    fail("restart.policy", "a nested container is not restarted: it ends with its parent");
                }
            }
        }

        private void id(String field, String id, boolean required) {
            if (id.isEmpty()) {
                if (required) {
                    fail(field, "must not be empty");
                }
            } else if (id.contains("/")) {
                fail(field, Quoted.of(id) + " must not contain '/'");
            } else if (id.contains("..")) {
                fail(field, Quoted.of(id) + " must not contain '..'");
            } else if (!ID.matcher(id).matches()) {
                fail(field, Quoted.of(id) + " must be 1 to 128 letters, digits, '_', '.' or '-', starting with a"
                        + " letter or digit");
            }
        }

        private void command(ContainerConfig c) {
            // an image's Entrypoint/Cmd may stand in for the command
            if (bootsDiskImage(c)) {
                if (c.getCommandCount() > 0 || c.getArgsCount() > 0) {
                    fail("command", "a full VM (vm.machine) runs its image's own init, no command");
                }
                return;
            }
            if (c.getCommandCount() == 0 && c.getArgsCount() == 0 && !c.hasImage() && !c.getPod()) {
                fail("command", "must not be empty: give the executable to run (no image provides a default)");
            }
            if (c.getCommandCount() > 0 && c.getCommand(0).isEmpty()) {
                fail("command[0]", "the executable must not be an empty string");
            }
            for (int i = 0; i < c.getCommandCount(); i++) {
                noNul("command[" + i + "]", c.getCommand(i));
            }
            for (int i = 0; i < c.getArgsCount(); i++) {
                noNul("args[" + i + "]", c.getArgs(i));
            }
        }

        private void root(ContainerConfig c) {
            if (bootsDiskImage(c) && c.getRootCase() != ContainerConfig.RootCase.ROOT_NOT_SET) {
                fail(c.hasImage() ? "image" : "host_rootfs", "a full VM (vm.machine) boots its own disk: no image or"
                        + " host_rootfs");
                return;
            }
            switch (c.getRootCase()) {
                case IMAGE -> image(c.getImage());
                case HOST_ROOTFS -> absolutePath("host_rootfs", c.getHostRootfs());
                case ROOT_NOT_SET -> {
                    if (bootsDiskImage(c) || c.getPod()) {
                        return;
                    }
                    fail("image", "a container needs a root filesystem: set image or host_rootfs");
                }
            }
        }

        private void pathRules(ContainerConfig c) {
            for (int i = 0; i < c.getPathRules().getMaskedCount(); i++) {
                absolutePath("path_rules.masked[" + i + "]", c.getPathRules().getMasked(i));
            }
            for (int i = 0; i < c.getPathRules().getReadonlyCount(); i++) {
                absolutePath("path_rules.readonly[" + i + "]", c.getPathRules().getReadonly(i));
            }
        }

        private void image(ImageReference image) {
            switch (image.getSource()) {
                case IMAGE_SOURCE_UNSPECIFIED, REGISTRY -> {
                    if (image.getRepository().isEmpty()) {
                        fail("image.repository", "must not be empty");
                    }
                    if (!image.getPath().isEmpty()) {
                        fail("image.path", "only valid for OCI_LAYOUT and DOCKER_ARCHIVE images");
                    }
                }
                case OCI_LAYOUT, DOCKER_ARCHIVE -> absolutePath("image.path", image.getPath());
                default -> fail("image.source", "unknown image source " + image.getSourceValue());
            }
            if (!image.getDigest().isEmpty() && !DIGEST.matcher(image.getDigest()).matches()) {
                fail("image.digest", Quoted.of(image.getDigest()) + " is not a digest (algorithm:hex, e.g. sha256:…)");
            }
        }

        private void resources(Resources r) {
            double cpus = r.getCpus();
            if (!Double.isFinite(cpus) || cpus < 0) {
                fail("resources.cpus", "must be a finite number of CPUs, 0 or more (0: no limit), not " + cpus);
            } else if (cpus > 0 && cpus < MIN_CPUS) {
                fail("resources.cpus", cpus + " is below the smallest share the kernel can enforce (" + MIN_CPUS + ")");
            } else if (cpus > capacity.cpus()) {
                fail("resources.cpus", cpus + " exceeds this node's " + capacity.cpus() + " CPUs");
            }
            if (r.getCpuShares() != 0) {
                CpuWeight.problem(r.getCpuShares()).ifPresent(p -> fail("resources.cpu_shares", p + " (0: from cpus)"));
            }
            cpuList("resources.cpuset_cpus", r.getCpusetCpus(), capacity.onlineCpus(), "CPU");
            cpuList("resources.cpuset_mems", r.getCpusetMems(), capacity.memoryNodes(), "memory node");
            memory("resources.memory_bytes", r.getMemoryBytes(), MIN_MEMORY_BYTES);
            if (r.getMemoryReservationBytes() < 0) {
                fail("resources.memory_reservation_bytes", "must not be negative (0: none), got "
                        + r.getMemoryReservationBytes());
            } else if (r.getMemoryBytes() > 0 && r.getMemoryReservationBytes() > r.getMemoryBytes()) {
                fail("resources.memory_reservation_bytes", r.getMemoryReservationBytes() + " is above the memory limit "
                        + r.getMemoryBytes() + ": a reservation is at most the limit");
            }
            if (r.getDiskBytes() < 0) {
                fail("resources.disk_bytes", "must not be negative (0: no quota), got " + r.getDiskBytes());
            }
            if (r.getPids() < -1) {
                fail("resources.pids", "must be a number of processes, 0 (the default, 2048) or -1 (no limit), got "
                        + r.getPids());
            }
            if (r.getGpus() < 0) {
                fail("resources.gpus", "must not be negative, got " + r.getGpus());
            }
            gpuAddresses(r);
        }

        /**
         * Each a page size of this node's, the limit bytes (0: none of that size). Not a pod's or its member's (their
         * v2 cgroups nest, which a hugetlb cgroup of their own would need to be told), nor more than 0 for a VM task,
         * whose guest memory is no host huge pages.
         */
        private void hugepageLimits(ContainerConfig c) {
            for (var limit : new TreeMap<>(c.getResources().getHugepageLimitsMap()).entrySet()) {
                String field = "resources.hugepage_limits[" + limit.getKey() + "]";
                if (!capacity.hugepageSizes().contains(limit.getKey())) {
                    fail(field, Quoted.of(limit.getKey()) + " is not a huge page size of this node's ("
                            + (capacity.hugepageSizes().isEmpty() ? "it has none"
                            : String.join(", ", new TreeSet<>(capacity.hugepageSizes()))) + ")");
                } else if (limit.getValue() < 0) {
                    fail(field, "must be a number of bytes, 0 or more (0: none of that size), not " + limit.getValue());
                } else if (c.getPod() || !c.getParentId().isEmpty()) {
                    fail(field, "not for a pod or its members yet");
                } else if (c.getIsolation() == Isolation.VM && limit.getValue() > 0) {
                    fail(field, "a VM task's guest memory is not the host's huge pages: 0 only");
                }
            }
        }

        /** Joined namespaces: a joinable type each, at an absolute path; a standalone process container's. */
        private void namespacePaths(ContainerConfig c) {
            for (var join : new TreeMap<>(c.getNamespacePathsMap()).entrySet()) {
                String field = "namespace_paths[" + join.getKey() + "]";
                if (!JOINABLE_NAMESPACES.contains(join.getKey())) {
                    fail(field, Quoted.of(join.getKey()) + " is not a namespace a container joins: ipc, uts, pid or"
                            + " cgroup (the network's is network_namespace_path)");
                } else if (!join.getValue().startsWith("/") || join.getValue().contains("\0")) {
                    fail(field, Quoted.of(join.getValue()) + " is not an absolute path");
                } else if (c.getIsolation() == Isolation.VM) {
                    fail(field, "a VM task's namespaces are its guest's: it joins none of the host's");
                } else if (c.getPod() || !c.getParentId().isEmpty()) {
                    fail(field, "a pod's members join their pod's namespaces");
                } else if (join.getKey().equals("uts") && !c.getHostname().isEmpty()) {
                    fail("hostname", "the joined UTS namespace keeps its own host name");
                }
            }
        }

        /** A cpuset's list (empty: all), each of its numbers one the node has online. */
        private void cpuList(String field, String text, CpuList online, String what) {
            if (text.isEmpty()) {
                return;
            }
            try {
                CpuList missing = CpuList.parse(text).without(online);
                if (!missing.isEmpty()) {
                    fail(field, Quoted.of(text) + " names " + what + (missing.members().cardinality() > 1 ? "s " : " ")
                            + missing + ", not online on this node (online: " + online + ")");
                }
            } catch (IllegalArgumentException e) {
                fail(field, Quoted.of(text) + " " + e.getMessage() + " (a list such as 0-3,6)");
            }
        }

        /**
         * Each a PCI address, none twice; with them, {@code gpus} is 0 or their number. Whether the node
         * has those GPUs, free, is the node's check ({@code GpuAllocator}).
         */
        private void gpuAddresses(Resources r) {
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < r.getGpuAddressesCount(); i++) {
                String address = r.getGpuAddresses(i);
                String field = "resources.gpu_addresses[" + i + "]";
                if (PciAddress.parse(address).isEmpty()) {
                    fail(field, Quoted.of(address) + " is not a PCI address (domain:bus:device.function in"
                            + " lower-case hex, e.g. 0000:41:00.0)");
                } else if (!seen.add(address)) {
                    fail(field, address + " is listed twice");
                }
            }
            if (r.getGpuAddressesCount() > 0 && r.getGpus() != 0 && r.getGpus() != r.getGpuAddressesCount()) {
                fail("resources.gpus", r.getGpus() + " GPUs but " + r.getGpuAddressesCount()
                        + " addresses in resources.gpu_addresses: give 0 or their number");
            }
        }

        private void memory(String field, long bytes, long minimum) {
            if (bytes < 0) {
                fail(field, "must not be negative (0: no limit), got " + bytes);
            } else if (bytes > 0 && bytes < minimum) {
                fail(field, bytes + " bytes is too little to run anything; the minimum is " + minimum
                        + " bytes (" + (minimum >> 20) + " MiB)");
            } else if (bytes > capacity.memoryBytes()) {
                fail(field, bytes + " bytes exceeds this node's memory (" + capacity.memoryBytes() + " bytes)");
            }
        }

        private void env(List<EnvVar> env) {
            Set<String> seen = new HashSet<>();
            for (int i = 0; i < env.size(); i++) {
                String name = env.get(i).getName();
                String field = "env[" + i + "].name";
                if (name.isEmpty()) {
                    fail(field, "must not be empty");
                } else if (name.contains("=")) {
                    fail(field, Quoted.of(name) + " must not contain '='");
                } else if (!seen.add(name)) {
                    fail(field, Quoted.of(name) + " is set twice");
                }
                noNul(field, name);
                noNul("env[" + i + "].value", env.get(i).getValue());
            }
        }

        private void user(String user) {
            String[] parts = user.split(":", -1);
            if (parts.length > 2 || !USER_PART.matcher(parts[0]).matches()
                    || (parts.length == 2 && !USER_PART.matcher(parts[1]).matches())) {
                fail("user", Quoted.of(user) + " must be uid[:gid] or name[:group]");
            }
        }

        /** A VM task's guest applies them to its bind as a process container's does. */
        private void hostPathOptions(String field, List<String> options) {
            for (int i = 0; i < options.size(); i++) {
                if (!BIND_OPTIONS.contains(options.get(i))) {
                    fail(field + "[" + i + "]", Quoted.of(options.get(i)) + " is not one of " + BIND_OPTIONS);
                }
            }
        }

        private Set<String> volumes(List<Volume> volumes, Isolation isolation) {
            Set<String> targets = new HashSet<>();
            for (int i = 0; i < volumes.size(); i++) {
                Volume v = volumes.get(i);
                String at = "volumes[" + i + "]";
                if (absolutePath(at + ".target", v.getTarget())) {
                    if (v.getTarget().equals("/")) {
                        fail(at + ".target", "must not be '/': the root filesystem is not a volume");
                    } else if (!targets.add(normalize(v.getTarget()))) {
                        fail(at + ".target", Quoted.of(v.getTarget()) + " is the target of another volume");
                    }
                }
                switch (v.getSourceCase()) {
                    case HOST_PATH -> {
                        absolutePath(at + ".host_path.path", v.getHostPath().getPath());
                        hostPathOptions(at + ".host_path.options", v.getHostPath().getOptionsList());
                    }
                    case TMPFS -> {
                        if (v.getTmpfs().getSizeBytes() < 0) {
                            fail(at + ".tmpfs.size_bytes", "must not be negative, got " + v.getTmpfs().getSizeBytes());
                        }
                        if (Integer.compareUnsigned(v.getTmpfs().getMode(), 07777) > 0) {
                            fail(at + ".tmpfs.mode", "must be permission bits (at most 07777), got 0"
                                    + Integer.toOctalString(v.getTmpfs().getMode()));
                        }
                    }
                    case PERSISTENT -> id(at + ".persistent.name", v.getPersistent().getName(), true);
                    case DOCKER -> {
                        if (v.getDocker().getDriver().isEmpty()) {
                            fail(at + ".docker.driver", "must not be empty");
                        }
                        if (v.getDocker().getName().isEmpty()) {
                            fail(at + ".docker.name", "must not be empty");
                        }
                    }
                    case SOURCE_NOT_SET -> fail(at, "needs a source: host_path, tmpfs, persistent or docker");
                }
            }
            return targets;
        }

        /** An absolute cgroup path of clean levels; a pod's cgroup and its members' stay where they nest. */
        private void cgroupPath(ContainerConfig c) {
            String path = c.getCgroupPath();
            if (path.isEmpty()) {
                return;
            }
            if (c.getPod() || !c.getParentId().isEmpty()) {
                fail("cgroup_path", c.getPod() ? "a pod's cgroup is under the node's cgroup parent, its members' under it"
                        : "a pod's member's cgroup is under its pod's");
                return;
            }
            cgroupPathProblem(path).ifPresent(problem -> fail("cgroup_path", problem));
        }

        /**
         * Each host node exists and is a character or block device (its number is read again at each launch);
         * its path in the container is clean and taken by no other device or volume. Process containers only: a
         * VM holds only its virtual devices.
         */
        private void devices(ContainerConfig c, Set<String> volumeTargets) {
            if (c.getDevicesCount() == 0) {
                return;
            }
            if (c.getIsolation() == Isolation.VM) {
                fail("devices", "host devices cannot enter a VM; whole GPUs: --gpus");
                return;
            }
            if (c.getPod()) {
                fail("devices", "a pod runs no task of its own: give devices to its members");
                return;
            }
            Set<String> paths = new HashSet<>();
            for (int i = 0; i < c.getDevicesCount(); i++) {
                Device d = c.getDevices(i);
                String at = "devices[" + i + "]";
                boolean hostPath = absolutePath(at + ".host_path", d.getHostPath());
                if (hostPath) {
                    hostDevice(at + ".host_path", d.getHostPath());
                }
                if (!d.getPermissions().isEmpty() && !d.getPermissions().matches("(?!.*(.).*\\1)[rwm]+")) {
                    fail(at + ".permissions", Quoted.of(d.getPermissions()) + " must be letters of rwm");
                }
                String path = ContainerDevices.path(d);
                String pathField = at + (d.getPath().isEmpty() ? ".host_path" : ".path");
                boolean absolute = d.getPath().isEmpty() ? hostPath : absolutePath(pathField, path);
                if (!absolute) {
                    continue; // said above
                }
                if (!Path.of(path).normalize().toString().equals(path)) {
                    fail(pathField, Quoted.of(path) + " must be a clean path (no '.', '//' or trailing '/')");
                } else if (path.equals("/") || path.equals("/dev")) {
                    fail(pathField, Quoted.of(path) + " is a directory of the container, not a place for a node");
                } else if (!paths.add(path)) {
                    fail(pathField, Quoted.of(path) + " is the path of another device");
                } else if (volumeTargets.contains(path)) {
                    fail(pathField, Quoted.of(path) + " is the target of a volume");
                }
            }
        }

        private void hostDevice(String field, String path) {
            try {
                if (HostDevice.at(Path.of(path)).isEmpty()) {
                    fail(field, Files.exists(Path.of(path)) ? Quoted.of(path) + " is not a character or block device"
                            : Quoted.of(path) + " does not exist on this node");
                }
            } catch (IOException e) {
                fail(field, "cannot read " + Quoted.of(path) + ": " + e.getMessage());
            }
        }

        /**
         * Parameters of the task's own network or IPC namespace only, one line each; not the host's network (a
         * task on {@code host} shares it) nor a pod's member's, whose namespaces are its pod's (the pod sets them).
         */
        private void sysctls(ContainerConfig c) {
            for (Map.Entry<String, String> e : new TreeMap<>(c.getSysctlsMap()).entrySet()) {
                String key = e.getKey();
                String field = "sysctls[" + key + "]";
                if (!Sysctls.wellFormed(key)) {
                    fail("sysctls", Quoted.of(key) + " is not a kernel parameter's dotted name (words of letters,"
                            + " digits, '_' and '-', at most " + Sysctls.MAX_KEY_LENGTH + " characters)");
                    continue;
                }
                Optional<Sysctls.Scope> scope = Sysctls.scopeOf(key);
                if (scope.isEmpty()) {
                    fail(field, "is not a parameter of the task's own network or IPC namespace, so setting it would"
                            + " change the host: these may be set: " + Sysctls.ALLOWED);
                } else if (bootsDiskImage(c)) {
                    fail(field, "a full VM (vm.machine) runs no task of Vessel's: set it in the guest (cloud-init)");
                } else if (!c.getParentId().isEmpty()) {
                    fail(field, "a pod's member shares its pod's network and IPC namespaces: give sysctls to the pod");
                } else if (scope.get() == Sysctls.Scope.NETWORK && NetworkNames.sharesHost(c)) {
                    fail(field, "the task shares the host's network namespace (network host): it has none of its"
                            + " own to set it in");
                }
                String value = e.getValue();
                if (value.length() > Sysctls.MAX_VALUE_LENGTH || value.indexOf('\n') >= 0 || value.indexOf(0) >= 0) {
                    fail(field, "the value must be one line of at most " + Sysctls.MAX_VALUE_LENGTH
                            + " characters, without NUL");
                }
            }
        }

        /**
         * Name servers as IP addresses, search domains as host names, options as resolv.conf's words; each extra host a
         * host name and an address. A pod (no filesystem of its own) is refused them, and so is a VM task but a
         * standalone one on a CNI network (the others' resolver is their guest's own).
         */
        private void resolver(ContainerConfig c) {
            boolean any = c.getDnsServersCount() + c.getDnsSearchCount() + c.getDnsOptionsCount()
                    + c.getExtraHostsCount() > 0;
            if (!any) {
                return;
            }
            String field = c.getDnsServersCount() > 0 ? "dns_servers" : c.getDnsSearchCount() > 0 ? "dns_search"
                    : c.getDnsOptionsCount() > 0 ? "dns_options" : "extra_hosts";
            if (!NetworkNames.getsResolverFiles(c)) {
                fail(field, c.getVm().hasMachine() ? "a full VM's resolver is its own (cloud-init's)"
                        : "a VM task gets resolver files on a CNI network of its own; a VM pod's members and a VM task"
                                + " without one use their guest's rootfs's own");
                return;
            }
            if (c.getPod()) {
                fail(field, "a pod has no filesystem of its own: give it to its members");
                return;
            }
            if (c.getDnsServersCount() > MAX_DNS_SERVERS) {
                fail("dns_servers", "at most " + MAX_DNS_SERVERS + " (the resolver reads no more)");
            }
            for (int i = 0; i < c.getDnsServersCount(); i++) {
                ipAddress("dns_servers[" + i + "]", c.getDnsServers(i));
            }
            if (c.getDnsSearchCount() > MAX_DNS_SEARCH) {
                fail("dns_search", "at most " + MAX_DNS_SEARCH + " domains");
            }
            for (int i = 0; i < c.getDnsSearchCount(); i++) {
                if (!DOMAIN.matcher(c.getDnsSearch(i)).matches()) {
                    fail("dns_search[" + i + "]", Quoted.of(c.getDnsSearch(i)) + " is not a domain name");
                }
            }
            if (c.getDnsOptionsCount() > MAX_DNS_OPTIONS) {
                fail("dns_options", "at most " + MAX_DNS_OPTIONS + " options");
            }
            for (int i = 0; i < c.getDnsOptionsCount(); i++) {
                if (!DNS_OPTION.matcher(c.getDnsOptions(i)).matches()) {
                    fail("dns_options[" + i + "]", Quoted.of(c.getDnsOptions(i)) + " is not a resolver option"
                            + " (a word, and :N for one that takes a number: ndots:2, timeout:1, rotate)");
                }
            }
            if (c.getExtraHostsCount() > MAX_EXTRA_HOSTS) {
                fail("extra_hosts", "at most " + MAX_EXTRA_HOSTS + " entries");
            }
            for (int i = 0; i < c.getExtraHostsCount(); i++) {
                HostEntry h = c.getExtraHosts(i);
                if (!HOSTNAME.matcher(h.getHostname()).matches()) {
                    fail("extra_hosts[" + i + "].hostname", Quoted.of(h.getHostname()) + " is not a valid host name");
                }
                ipAddress("extra_hosts[" + i + "].ip", h.getIp());
            }
        }

        /**
         * ["CMD", program, args…], ["CMD-SHELL", script] or ["NONE"]; durations of at least a second (0: the
         * default), retries not negative, on_failure one podman knows; not for a pod or a full VM, which run no task
         * to exec into.
         */
        private void healthCheck(ContainerConfig c) {
            HealthCheck h = c.getHealthCheck();
            List<String> test = h.getTestList();
            boolean none = test.size() == 1 && test.getFirst().equals("NONE");
            boolean command = !test.isEmpty() && test.getFirst().equals("CMD") && test.size() >= 2
                    && !test.get(1).isEmpty();
            boolean script = !test.isEmpty() && test.getFirst().equals("CMD-SHELL") && test.size() == 2
                    && !test.get(1).isBlank();
            if (!none && !command && !script) {
                fail("health_check.test", "must be [\"CMD\", program, args…], [\"CMD-SHELL\", script] or [\"NONE\"]");
            }
            for (int i = 0; i < test.size(); i++) {
                noNul("health_check.test[" + i + "]", test.get(i));
            }
            if (none) {
                return;
            }
            if (c.getPod() || bootsDiskImage(c)) {
                fail("health_check", (c.getPod() ? "a pod" : "a full VM (vm.machine)") + " runs no task to check");
            }
            Map<String, Long> durations = new java.util.LinkedHashMap<>();
            durations.put("health_check.interval_ms", h.getIntervalMs());
            durations.put("health_check.timeout_ms", h.getTimeoutMs());
            durations.forEach((field, ms) -> {
                if (ms != 0 && (ms < MIN_HEALTH_MS || ms > MAX_HEALTH_MS)) {
                    fail(field, ms + " ms is not from " + MIN_HEALTH_MS + " ms to a day (0: 30 s)");
                }
            });
            if (h.getStartPeriodMs() < 0 || h.getStartPeriodMs() > MAX_HEALTH_MS) {
                fail("health_check.start_period_ms", h.getStartPeriodMs() + " ms is not from 0 to a day");
            }
            if (h.getRetries() < 0) {
                fail("health_check.retries", "must not be negative (0: 3), got " + h.getRetries());
            }
            if (!Set.of("", "none", "kill", "stop", "restart").contains(h.getOnFailure())) {
                fail("health_check.on_failure", Quoted.of(h.getOnFailure())
                        + " is not one of none, kill, stop, restart");
            }
        }

        private void ipAddress(String field, String address) {
            try {
                InetAddress.ofLiteral(address);
            } catch (IllegalArgumentException e) {
                fail(field, Quoted.of(address) + " is not an IPv4 or IPv6 address");
            }
        }

        private void networkNamespacePath(ContainerConfig c) {
            if (c.getNetworkNamespacePath().isEmpty() || !absolutePath("network_namespace_path",
                    c.getNetworkNamespacePath())) {
                return;
            }
            if (c.getNetworksCount() > 0) {
                fail("network_namespace_path", "joins a namespace the caller made: no networks with it");
            }
        }

        private void networks(List<NetworkAttachment> networks, Isolation isolation) {
            Set<String> names = new HashSet<>();
            Set<String> hostPorts = new HashSet<>();
            for (int i = 0; i < networks.size(); i++) {
                NetworkAttachment n = networks.get(i);
                String at = "networks[" + i + "]";
                if (!NETWORK.matcher(n.getNetwork()).matches()) {
                    fail(at + ".network", Quoted.of(n.getNetwork()) + " is not a network name");
                } else if (!names.add(n.getNetwork())) {
                    fail(at + ".network", Quoted.of(n.getNetwork()) + " is attached twice");
                }
                if (NetworkNames.isReserved(n.getNetwork())) {
                    reservedNetwork(at, n, networks.size(), isolation);
                }
                for (int j = 0; j < n.getPortsCount(); j++) {
                    PortMapping p = n.getPorts(j);
                    String pat = at + ".ports[" + j + "]";
                    port(pat + ".host_port", p.getHostPort());
                    port(pat + ".container_port", p.getContainerPort());
                    String protocol = p.getProtocol().isEmpty() ? "tcp" : p.getProtocol();
                    if (!protocol.equals("tcp") && !protocol.equals("udp")) {
                        fail(pat + ".protocol", Quoted.of(p.getProtocol()) + " must be tcp or udp");
                    }
                    if (!p.getHostIp().isEmpty() && !isIpLiteral(p.getHostIp())) {
                        fail(pat + ".host_ip", Quoted.of(p.getHostIp()) + " is not an IP address");
                    }
                    if (!hostPorts.add(p.getHostIp() + "/" + protocol + "/" + p.getHostPort())) {
                        fail(pat + ".host_port", protocol + " port " + p.getHostPort() + " is mapped twice");
                    }
                }
            }
        }

        /** {@code host} and {@code none} are not CNI networks: alone, without ports; a VM cannot share the host's. */
        private void reservedNetwork(String at, NetworkAttachment n, int attached, Isolation isolation) {
            String name = Quoted.of(n.getNetwork());
            if (attached > 1) {
                fail(at, name + " cannot be combined with other networks");
            }
            if (n.getPortsCount() > 0) {
                fail(at + ".ports", "port mappings need a CNI network; " + name + " has none");
            }
            if (n.getNetwork().equals(NetworkNames.HOST) && isolation == Isolation.VM) {
                fail(at, "a VM task cannot share the host's network namespace; name a CNI network or none");
            }
        }

        private void port(String field, int port) {
            if (port < 1 || port > 65535) {
                fail(field, port + " is not a port (1 to 65535)");
            }
        }

        private void capabilities(Capabilities caps) {
            Set<String> added = new HashSet<>();
            for (int i = 0; i < caps.getAddCount(); i++) {
                capability("capabilities.add[" + i + "]", caps.getAdd(i)).ifPresent(added::add);
            }
            for (int i = 0; i < caps.getDropCount(); i++) {
                String field = "capabilities.drop[" + i + "]";
                capability(field, caps.getDrop(i)).ifPresent(name -> {
                    if (added.contains(name) && !name.equals(Capability.ALL)) {
                        fail(field, name + " is both added and dropped");
                    }
                });
            }
        }

        private Optional<String> capability(String field, String name) {
            if (name.equalsIgnoreCase(Capability.ALL)) {
                return Optional.of(Capability.ALL);
            }
            var cap = Capability.parse(name);
            if (cap.isEmpty()) {
                fail(field, Quoted.of(name) + " is not a Linux capability (e.g. CAP_NET_ADMIN)");
            }
            return cap.map(Capability::name);
        }

        private void seccomp(Seccomp seccomp) {
            String json = seccomp.getProfileJson();
            if (seccomp.getUnconfined() && !json.isEmpty()) {
                fail("seccomp", "give either a profile or unconfined, not both");
            } else if (json.length() > MAX_SECCOMP_PROFILE_CHARS) {
                fail("seccomp.profile_json", "is " + json.length() + " characters; at most "
                        + MAX_SECCOMP_PROFILE_CHARS + " are accepted");
            } else if (!json.isEmpty()) {
                try {
                    SeccompProfile.parse(json);
                } catch (SeccompProfile.MalformedException e) {
                    fail("seccomp.profile_json", e.getMessage());
                }
            }
        }

        private void rlimits(List<Rlimit> rlimits) {
            Set<RlimitType> seen = new HashSet<>();
            for (int i = 0; i < rlimits.size(); i++) {
                Rlimit r = rlimits.get(i);
                String at = "rlimits[" + i + "]";
                var type = RlimitType.parse(r.getType());
                if (type.isEmpty()) {
                    fail(at + ".type", Quoted.of(r.getType()) + " is not a resource limit (e.g. RLIMIT_NOFILE)");
                } else if (!seen.add(type.get())) {
                    fail(at + ".type", type.get() + " is set twice");
                }
                if (Long.compareUnsigned(r.getSoft(), r.getHard()) > 0) {
                    fail(at + ".soft", "soft limit " + Long.toUnsignedString(r.getSoft())
                            + " exceeds the hard limit " + Long.toUnsignedString(r.getHard()));
                }
            }
        }

        /** What the VM launcher cannot carry into a guest: refused rather than silently dropped. */
        private void notYetInVms(ContainerConfig c) {
            if (!c.getParentId().isEmpty()) {
                if (c.getUrisCount() > 0) {
                    fail("uris", "a VM pod's member gets no sandbox: its pod's VM is running and shares no more"
                            + " directories");
                }
                vmPodMember(c);
            }
            if (c.getVm().hasMachine() && c.getUrisCount() > 0) {
                fail("uris", "a full VM (vm.machine) runs no task of Vessel's to fetch them for");
            }
        }

        /**
         * A VM pod's member is a task of its pod's guest: the VM was booted with the pod's size and devices, so
         * the member brings no VM options and no volume the VM would have to be booted with (only tmpfs).
         */
        private void vmPodMember(ContainerConfig c) {
            if (c.hasVm()) {
                fail("vm", "a VM pod's member runs in its pod's VM: give VM options to the pod");
            }
            if (!c.getResources().getCpusetCpus().isEmpty() || !c.getResources().getCpusetMems().isEmpty()) {
                fail(c.getResources().getCpusetCpus().isEmpty() ? "resources.cpuset_mems" : "resources.cpuset_cpus",
                        "a VM pod's member runs on its pod's vCPUs: pin the pod's VM instead");
            }
            for (int i = 0; i < c.getVolumesCount(); i++) {
                if (!c.getVolumes(i).hasTmpfs()) {
                    fail("volumes[" + i + "]", "a VM pod's member takes tmpfs volumes only: its pod's VM is running"
                            + " and shares no more directories");
                }
            }
        }

        /** A served rootfs is a standalone VM task's own host_rootfs: not an image's view, not a pod's share. */
        private void keepRootfsOwners(ContainerConfig c) {
            if (!c.getVm().getKeepRootfsOwners()) {
                return;
            }
            if (c.getRootCase() != ContainerConfig.RootCase.HOST_ROOTFS) {
                fail("vm.keep_rootfs_owners", "applies to a host_rootfs (an image's rootfs is the container's own view)");
            } else if (c.getPod() || !c.getParentId().isEmpty()) {
                fail("vm.keep_rootfs_owners", "a VM pod's members share their pod's guest, which serves no rootfs of"
                        + " its own");
            }
        }

        private void vm(VmOptions vm, Isolation isolation, Set<String> volumeTargets) {
            if (isolation != Isolation.VM) {
                fail("vm", "VM options are only valid with isolation VM");
                return;
            }
            if (vm.getVcpus() < 0 || vm.getVcpus() > MAX_VCPUS) {
                fail("vm.vcpus", vm.getVcpus() + " must be between 1 and " + MAX_VCPUS + " (0: from resources.cpus)");
            } else if (vm.getVcpus() > capacity.cpus()) {
                fail("vm.vcpus", vm.getVcpus() + " exceeds this node's " + capacity.cpus() + " CPUs");
            }
            memory("vm.memory_bytes", vm.getMemoryBytes(), VmSizing.MIN_REQUESTED_MEMORY_BYTES);
            if (!vm.getKernel().isEmpty()) {
                absolutePath("vm.kernel", vm.getKernel());
            }
            if (!vm.getInitrd().isEmpty()) {
                absolutePath("vm.initrd", vm.getInitrd());
            }
            noNul("vm.kernel_cmdline", vm.getKernelCmdline());
            if (vm.hasMachine()) {
                machine(vm, volumeTargets);
            }
            Set<String> targets = new HashSet<>(volumeTargets);
            Set<String> paths = new HashSet<>();
            for (int i = 0; i < vm.getDisksCount(); i++) {
                disk("vm.disks[" + i + "]", vm.getDisks(i), targets, paths);
            }
        }

        /** A full VM: its images and seed as far as they can be checked without the node (the launcher reads the images). */
        private void machine(VmOptions vm, Set<String> volumeTargets) {
            VmMachine m = vm.getMachine();
            Map<String, String> guestBoot = Map.of("vm.kernel", vm.getKernel(), "vm.initrd", vm.getInitrd(),
                    "vm.kernel_cmdline", vm.getKernelCmdline());
            guestBoot.forEach((field, value) -> {
                if (!value.isEmpty()) {
                    fail(field, "a full VM (vm.machine) boots its image's own kernel: leave it empty");
                }
            });
            if (!volumeTargets.isEmpty()) {
                fail("volumes", "a full VM (vm.machine) has no agent to mount volumes: give it vm.disks");
            }
            boolean base = absolutePath("vm.machine.base_image", m.getBaseImage());
            if (!VM_DISK_FORMATS.contains(m.getBaseFormat())) {
                fail("vm.machine.base_format", (m.getBaseFormat().isEmpty() ? "must be given"
                        : Quoted.of(m.getBaseFormat()) + " is not a disk format this node knows") + ": use one of "
                        + sorted(VM_DISK_FORMATS) + " (an image's format is never guessed)");
            }
            if (absolutePath("vm.machine.disk", m.getDisk()) && base
                    && normalize(m.getDisk()).equals(normalize(m.getBaseImage()))) {
                fail("vm.machine.disk", "must not be the base image, which is never written");
            }
            if (m.getDiskSizeBytes() < 0) {
                fail("vm.machine.disk_size_bytes", m.getDiskSizeBytes() + " must not be negative (0: the base's size)");
            }
            if (m.hasCloudInit()) {
                CloudInit ci = m.getCloudInit();
                if (ci.getInstanceId().length() > MAX_INSTANCE_ID || !noNul("vm.machine.cloud_init.instance_id", ci.getInstanceId())
                        || ci.getInstanceId().chars().anyMatch(ch -> ch < 0x21 || ch > 0x7e)) {
                    fail("vm.machine.cloud_init.instance_id", "must be at most " + MAX_INSTANCE_ID
                            + " printable ASCII characters without spaces");
                }
                if (ci.getUserData().length() > MAX_USER_DATA_CHARS) {
                    fail("vm.machine.cloud_init.user_data", "is " + ci.getUserData().length() + " characters: at most "
                            + MAX_USER_DATA_CHARS + " are taken");
                }
                noNul("vm.machine.cloud_init.user_data", ci.getUserData());
                if (ci.getSshAuthorizedKeysCount() > MAX_SSH_KEYS) {
                    fail("vm.machine.cloud_init.ssh_authorized_keys", "at most " + MAX_SSH_KEYS + " keys");
                }
                for (int i = 0; i < ci.getSshAuthorizedKeysCount(); i++) {
                    String key = ci.getSshAuthorizedKeys(i);
                    if (key.isBlank() || key.length() > MAX_SSH_KEY_CHARS || key.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f)) {
                        fail("vm.machine.cloud_init.ssh_authorized_keys[" + i + "]", "must be one line of an"
                                + " authorized_keys file (at most " + MAX_SSH_KEY_CHARS + " characters)");
                    }
                }
            }
        }

        /**
         * What can be checked without the node: the path's existence and kind are the VM launcher's
         * to check, as for the kernel. A target shares the volumes' namespace: no two may mount on one.
         * One image attached twice would be written through two caches: refused.
         */
        private void disk(String at, VmDisk disk, Set<String> targets, Set<String> paths) {
            if (absolutePath(at + ".path", disk.getPath()) && !paths.add(normalize(disk.getPath()))) {
                fail(at + ".path", Quoted.of(disk.getPath()) + " is attached twice");
            }
            if (!disk.getFormat().isEmpty() && !VM_DISK_FORMATS.contains(disk.getFormat())) {
                fail(at + ".format", Quoted.of(disk.getFormat()) + " is not a disk format this node knows; use one of "
                        + sorted(VM_DISK_FORMATS) + " (empty: raw)");
            }
            if (disk.getTarget().isEmpty()) {
                if (!disk.getFsType().isEmpty()) {
                    fail(at + ".fs_type", "is only meaningful with a target to mount the disk at");
                }
                return;
            }
            if (absolutePath(at + ".target", disk.getTarget())) {
                if (disk.getTarget().equals("/")) {
                    fail(at + ".target", "must not be '/': the root filesystem is not a disk");
                } else if (!targets.add(normalize(disk.getTarget()))) {
                    fail(at + ".target", Quoted.of(disk.getTarget()) + " is the target of a volume or another disk");
                }
            }
            if (!disk.getFsType().isEmpty() && !VM_DISK_FS_TYPES.contains(disk.getFsType())) {
                fail(at + ".fs_type", Quoted.of(disk.getFsType()) + " is not a filesystem the guest kernel has; use one of "
                        + sorted(VM_DISK_FS_TYPES) + " (empty: ext4)");
            }
        }

        private void uris(List<FetchUri> uris) {
            for (int i = 0; i < uris.size(); i++) {
                FetchUri u = uris.get(i);
                String at = "uris[" + i + "]";
                try {
                    URI uri = new URI(u.getUri());
                    if (uri.getScheme() == null) {
                        fail(at + ".uri", Quoted.of(u.getUri()) + " has no scheme (e.g. https://, file://)");
                    }
                } catch (URISyntaxException e) {
                    fail(at + ".uri", Quoted.of(u.getUri()) + " is not a URI: " + e.getReason());
                }
                if (!u.getExpectedDigest().isEmpty() && !DIGEST.matcher(u.getExpectedDigest()).matches()) {
                    fail(at + ".expected_digest", Quoted.of(u.getExpectedDigest()) + " is not a digest (sha256:…)");
                }
                if (u.getMaxSizeBytes() < 0) {
                    fail(at + ".max_size_bytes", "must not be negative (0: no cap), got " + u.getMaxSizeBytes());
                }
                String out = u.getOutputFile();
                if (!out.isEmpty() && (out.contains("/") || out.equals(".") || out.equals(".."))) {
                    fail(at + ".output_file", Quoted.of(out) + " must be a plain file name inside the sandbox");
                }
            }
        }

        /** Absolute, and no '..' component (which could walk out of a root). Returns true when fine. */
        private boolean absolutePath(String field, String path) {
            if (path.isEmpty()) {
                fail(field, "must not be empty");
                return false;
            }
            if (!path.startsWith("/")) {
                fail(field, Quoted.of(path) + " must be an absolute path");
                return false;
            }
            for (String part : path.split("/")) {
                if (part.equals("..")) {
                    fail(field, Quoted.of(path) + " must not contain '..'");
                    return false;
                }
            }
            return noNul(field, path);
        }

        private boolean noNul(String field, String value) {
            if (value.indexOf('\0') >= 0) {
                fail(field, "must not contain a NUL character");
                return false;
            }
            return true;
        }
    }

    private static boolean bootsDiskImage(ContainerConfig c) {
        return c.getIsolation() == Isolation.VM && c.getVm().hasMachine();
    }

    private static List<String> sorted(Set<String> names) {
        return names.stream().sorted().toList();
    }

    private static String normalize(String path) {
        String n = path.replaceAll("/+", "/");
        return n.length() > 1 && n.endsWith("/") ? n.substring(0, n.length() - 1) : n;
    }

    private static boolean isIpLiteral(String s) {
        try {
            java.net.InetAddress.ofLiteral(s);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
