package dev.vessel.launcher.process;

import dev.vessel.core.device.HostDevice;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.CapabilitySet;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.model.IdMapping;
import dev.vessel.core.model.JoinNamespace;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Namespace;
import dev.vessel.core.model.Rlimit;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.userns.UserNamespaceMode;
import dev.vessel.linux.Capability;
import dev.vessel.linux.RlimitType;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.stream.Stream;

/**
 * Computes the helper's plan from the effective config and the isolators' merged launch info. Policy
 * (which capabilities, rlimits and namespaces a container gets) is the isolators'; this class adds
 * only what the launch itself needs, and otherwise takes the launch info as it is.
 *
 * <ul>
 *   <li>Namespaces: mount always (pivot_root needs it), pid unless the launch info joins one (destroy kills
 *       the pid namespace's init and with it every process; in a joined one the cgroups' cleanup ends the
 *       rest), uts when a hostname is set (else sethostname would rename the host), plus the launch info's.
 *       Without net the task shares the host's network.
 *   <li>Env: the config's, then the launch info's (a later name wins); PATH defaults to the usual.
 *   <li>Rlimits: the launch info's only; a later one for the same resource wins.
 *   <li>Capabilities: the launch info's sets. When no isolator gave any, the task gets none (all
 *       five sets empty): a launcher without a capabilities isolator fails safe, not open. A non-root
 *       user keeps only the bounding set (what setuid binaries may reach) and nothing effective,
 *       permitted, inheritable or ambient, as with runc and Docker.
 *   <li>Cgroups: the launch info's; the helper starts the task in them.
 *   <li>Seccomp: the launch info's filter, installed by the helper just before execve; none without.
 *   <li>no_new_privs is always set, masked and read-only paths are runc's defaults unless the config's
 *       {@code path_rules} replace them (every container with a rootfs gets them, the one a VM's guest runs
 *       too), logs are capped.
 *   <li>{@code read_only_rootfs}: the helper remounts the rootfs read-only after every other mount (the
 *       writable tmpfs beneath it are {@code filesystem/linux}'s).
 *   <li>{@code init}: the helper's tiny init stays pid 1, forwards signals to the task and reaps orphans.
 *   <li>{@code sysctls}: written by the helper in the task's new network and IPC namespaces (in key order),
 *       never in the helper's own.
 *   <li>{@code pod}: the task is the helper's pause, which holds the namespaces a pod's members join (the
 *       launch info's {@code join_namespaces}, each joined before the clone).
 *   <li>Stdio: the monitor serves it on the attach socket; {@code tty} makes it a pty of the container's
 *       devpts (24×80 until a client resizes it), {@code interactive} keeps stdin open for attached clients.
 * </ul>
 */
public final class PlanBuilder {
    /** A pod's argv[0], as its plan shows: the helper pauses instead of executing anything. */
    static final String PAUSE_ARGV0 = "pause";
    static final String DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    static final long DEFAULT_LOG_CAP = 16L << 20;
    /** HOST_NAME_MAX on Linux. */
    private static final int MAX_HOSTNAME = 64;

    /** runc's default masked paths: host information a container has no business reading. */
    static final List<String> MASKED_PATHS = List.of("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
            "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
            "/sys/firmware", "/sys/devices/virtual/powercap");

    /** runc's default read-only paths: writing them would change the host's kernel, not the container. */
    static final List<String> READONLY_PATHS = List.of("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
            "/proc/sysrq-trigger");

    private static final long MS_RDONLY = 0x1, MS_NOSUID = 0x2, MS_NODEV = 0x4, MS_NOEXEC = 0x8,
            MS_BIND = 0x1000, MS_REC = 0x4000, MS_PRIVATE = 0x40000, MS_SLAVE = 0x80000;

    /** Capabilities this kernel knows: capset refuses bits beyond them. */
    private static final int CAP_LAST = capLast();

    private PlanBuilder() {
    }

    /** {@code attachSocket}: where the task's monitor serves its stdio (every task has one). */
    public static HelperPlan build(LaunchPlan launch, HelperPlan.MonitorFiles monitorFiles, long logCap,
            String attachSocket) {
        ContainerConfig config = launch.container().config();
        LaunchInfo info = launch.launchInfo();
        Optional<Path> rootfs = info.getRootfs().isEmpty() ? Optional.empty() : Optional.of(Path.of(info.getRootfs()));

        List<String> argv = new ArrayList<>(config.getCommandList());
        argv.addAll(config.getArgsList());
        if (config.getPod()) {
            argv = List.of(PAUSE_ARGV0); // never executed: the helper's pause holds the pod's namespaces
        }
        if (argv.isEmpty() || argv.getFirst().isEmpty()) {
            throw VesselException.invalid("command", "must not be empty: give the executable to run");
        }

        // an overlay the helper mounts later: its /etc is in its layers, upper first
        List<Path> userRoots = info.hasRootfsLayers()
                ? Stream.concat(Stream.of(info.getRootfsLayers().getUpper()),
                        info.getRootfsLayers().getLowerList().stream()).map(Path::of).toList()
                : rootfs.stream().toList();
        UserResolver.ResolvedUser user = UserResolver.resolve(config.getUser(), config.getAdditionalGidsList(),
                config.getAdditionalGroupsList(), userRoots);
        String hostname = !info.getHostname().isEmpty() ? info.getHostname() : config.getHostname();
        String cwd = !info.getWorkingDir().isEmpty() ? info.getWorkingDir()
                : !config.getWorkingDir().isEmpty() ? config.getWorkingDir() : "/";

        // a task always gets its own mount namespace, and its own pid namespace unless it joins one
        boolean joinsPid = info.getJoinNamespacesList().stream().anyMatch(j -> j.getType() == Namespace.PID);
        int namespaces = HelperPlan.NS_MOUNT | (joinsPid ? 0 : HelperPlan.NS_PID)
                | (hostname.isEmpty() ? 0 : HelperPlan.NS_UTS);
        for (Namespace ns : info.getNamespacesList()) {
            namespaces |= bit("namespaces", ns);
        }
        List<HelperPlan.JoinNamespace> joins = new ArrayList<>();
        for (int i = 0; i < info.getJoinNamespacesCount(); i++) {
            JoinNamespace join = info.getJoinNamespaces(i);
            String field = "launch_info.join_namespaces[" + i + "]";
            int bit = bit(field + ".type", join.getType());
            if ((namespaces & bit) != 0 || bit == HelperPlan.NS_MOUNT || bit == HelperPlan.NS_USER) {
                throw VesselException.invalid(field + ".type", join.getType() + " is made for the task, or not"
                        + " joinable here");
            }
            if (!join.getPath().startsWith("/")) {
                throw VesselException.invalid(field + ".path", Quoted.of(join.getPath()) + " must be absolute");
            }
            joins.add(new HelperPlan.JoinNamespace(bit, join.getPath()));
        }
        if (hostname.isEmpty() && (namespaces & HelperPlan.NS_UTS) != 0) {
            // a UTS namespace of its own but no name given: the container's id, as Docker does
            hostname = launch.container().containerId();
            hostname = hostname.substring(0, Math.min(hostname.length(), MAX_HOSTNAME));
        }
        if (config.getReadOnlyRootfs() && rootfs.isEmpty()) {
            throw VesselException.invalid("read_only_rootfs", "needs a root filesystem (image or host_rootfs)");
        }
        if (config.getTty() && rootfs.isEmpty()) {
            throw VesselException.invalid("tty", "needs a root filesystem (image or host_rootfs): the terminal comes"
                    + " from the container's own /dev/pts");
        }
        Optional<String> netns = Optional.of(info.getNetworkNamespacePath()).filter(p -> !p.isEmpty());
        if (netns.isPresent()) {
            namespaces &= ~HelperPlan.NS_NET; // joining one replaces creating one
        }

        return new HelperPlan(
                monitorFiles,
                rootfs.map(Path::toString),
                argv,
                env(config, info),
                cwd,
                OptionalInt.of(user.uid()),
                OptionalInt.of(user.gid()),
                user.supplementaryGids(),
                Optional.of(hostname).filter(h -> !h.isEmpty()),
                namespaces,
                info.getUidMappingsList().stream().map(PlanBuilder::mapLine).toList(),
                info.getGidMappingsList().stream().map(PlanBuilder::mapLine).toList(),
                netns,
                mounts(info),
                rootfs.isPresent() ? HelperPlan.STD_PROC | HelperPlan.STD_SYS | HelperPlan.STD_DEV
                        | (config.getReadOnlyRootfs() ? HelperPlan.STD_READONLY_ROOT : 0) : 0,
                rootfs.isPresent() ? (config.hasPathRules() ? config.getPathRules().getMaskedList() : MASKED_PATHS)
                        : List.of(),
                rootfs.isPresent() ? (config.hasPathRules() ? config.getPathRules().getReadonlyList() : READONLY_PATHS)
                        : List.of(),
                rlimits(info),
                true,
                Optional.of(caps(info, user.uid())),
                logCap,
                info.getCgroupsList(),
                idmap(config, info, namespaces, rootfs),
                info.getRootfsLayers().getLowerList(),
                info.hasRootfsLayers()
                        ? Optional.of(new HelperPlan.OverlayUpper(info.getRootfsLayers().getUpper(),
                                info.getRootfsLayers().getWork()))
                        : Optional.empty(),
                seccompFilter(info),
                config.getInit(),
                joins,
                config.getPod(),
                oomScoreAdj(config),
                config.getSysctlsMap().entrySet().stream().sorted(Map.Entry.comparingByKey())
                        .map(e -> new HelperPlan.Sysctl(e.getKey(), e.getValue())).toList(),
                new HelperPlan.Stdio(Optional.of(attachSocket), config.getInteractive(), config.getTty(),
                        Optional.of(HelperPlan.WindowSize.DEFAULT).filter(w -> config.getTty())));
    }

    private static int bit(String field, Namespace ns) {
        return switch (ns) {
            case MOUNT -> HelperPlan.NS_MOUNT;
            case PID -> HelperPlan.NS_PID;
            case UTS -> HelperPlan.NS_UTS;
            case IPC -> HelperPlan.NS_IPC;
            case NET -> HelperPlan.NS_NET;
            case CGROUP -> HelperPlan.NS_CGROUP;
            case USER -> HelperPlan.NS_USER;
            default -> throw VesselException.invalid(field, "unknown namespace " + ns);
        };
    }

    /** The container's OOM score, which its task and execs get; none: the daemon's, inherited. */
    static OptionalInt oomScoreAdj(ContainerConfig config) {
        return config.hasOomScoreAdj() ? OptionalInt.of(config.getOomScoreAdj()) : OptionalInt.empty();
    }

    /** Idmapped mounts need the user namespace they map to and a rootfs to map. */
    private static boolean idmap(ContainerConfig config, LaunchInfo info, int namespaces, Optional<Path> rootfs) {
        if (!info.getIdmappedMounts()) {
            boolean own = UserNamespaceMode.byName(config.getUserns()).filter(UserNamespaceMode::own).isPresent();
            if (own && (namespaces & HelperPlan.NS_USER) == 0) {
                // never run a container that asked for its own user namespace in the host's
                throw VesselException.invalid("userns", config.getUserns() + " needs the namespaces/user isolator,"
                        + " which this node's isolation leaves out");
            }
            if (info.hasRootfsLayers()) {
                throw VesselException.invalid("launch_info.rootfs_layers",
                        "an unmounted overlay rootfs is only for idmapped mounts");
            }
            return false;
        }
        if ((namespaces & HelperPlan.NS_USER) == 0 || rootfs.isEmpty()) {
            throw VesselException.invalid("launch_info.idmapped_mounts",
                    "idmapped mounts need a user namespace and a rootfs");
        }
        return true;
    }

    private static Optional<HelperPlan.SeccompFilter> seccompFilter(LaunchInfo info) {
        if (!info.hasSeccomp()) {
            return Optional.empty();
        }
        try {
            return Optional.of(new HelperPlan.SeccompFilter(info.getSeccomp().getFlags(),
                    info.getSeccomp().getProgram().toByteArray()));
        } catch (IllegalArgumentException e) {
            throw VesselException.invalid("launch_info.seccomp.program", e.getMessage());
        }
    }

    private static List<String> env(ContainerConfig config, LaunchInfo info) {
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvVar v : config.getEnvList()) {
            env.put(v.getName(), v.getValue());
        }
        for (EnvVar v : info.getEnvList()) {
            env.put(v.getName(), v.getValue());
        }
        env.putIfAbsent("PATH", DEFAULT_PATH);
        return env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
    }

    private static String mapLine(IdMapping m) {
        return Integer.toUnsignedString(m.getContainerId()) + " " + Integer.toUnsignedString(m.getHostId()) + " "
                + Integer.toUnsignedString(m.getSize());
    }

    private static List<HelperPlan.Mount> mounts(LaunchInfo info) {
        List<HelperPlan.Mount> out = new ArrayList<>();
        for (int i = 0; i < info.getMountsCount(); i++) {
            dev.vessel.core.model.Mount m = info.getMounts(i);
            String field = "mounts[" + i + "]";
            if (!m.getTarget().startsWith("/")) {
                throw VesselException.invalid(field + ".target", "'" + m.getTarget() + "' must be an absolute path");
            }
            boolean bind = m.getType().equals("bind") || m.getType().equals("rbind");
            long flags = m.getType().equals("rbind") ? MS_BIND | MS_REC : bind ? MS_BIND : 0;
            List<String> data = new ArrayList<>();
            for (String option : m.getOptionsList()) {
                switch (option) {
                    case "ro" -> flags |= MS_RDONLY;
                    case "rw" -> { } // the default
                    case "nosuid" -> flags |= MS_NOSUID;
                    case "nodev" -> flags |= MS_NODEV;
                    case "noexec" -> flags |= MS_NOEXEC;
                    case "bind" -> flags |= MS_BIND;
                    case "rbind" -> flags |= MS_BIND | MS_REC;
                    case "private" -> flags |= MS_PRIVATE;
                    case "rprivate" -> flags |= MS_PRIVATE | MS_REC;
                    case "slave" -> flags |= MS_SLAVE;
                    case "rslave" -> flags |= MS_SLAVE | MS_REC;
                    default -> data.add(option);
                }
            }
            bind = (flags & MS_BIND) != 0;
            if (bind && !Files.exists(Path.of(m.getSource()))) {
                throw VesselException.invalid(field + ".source", "'" + m.getSource() + "' does not exist");
            }
            // A bind of a file needs a file to mount on; everything else mounts on a directory. A host device
            // node (devtmpfs's, which cannot be idmapped) is bound as it is in a user namespace too.
            int hints = bind && !Files.isDirectory(Path.of(m.getSource())) ? HelperPlan.HINT_MKFILE : HelperPlan.HINT_MKDIR;
            if (bind && hostNode(m.getSource())) {
                hints |= HelperPlan.HINT_HOST_NODE;
            }
            String source = !m.getSource().isEmpty() ? m.getSource() : m.getType();
            out.add(new HelperPlan.Mount(flags, hints, source, m.getTarget(), bind ? "" : m.getType(),
                    String.join(",", data)));
        }
        return out;
    }

    private static boolean hostNode(String source) {
        try {
            return HostDevice.at(Path.of(source)).isPresent();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The launch info's rlimits; a later one for the same resource wins. */
    private static List<HelperPlan.Rlimit> rlimits(LaunchInfo info) {
        Map<Integer, HelperPlan.Rlimit> byResource = new LinkedHashMap<>();
        for (int i = 0; i < info.getRlimitsCount(); i++) {
            Rlimit r = info.getRlimits(i);
            String field = "launch_info.rlimits[" + i + "]";
            RlimitType type = RlimitType.parse(r.getType())
                    .orElseThrow(() -> VesselException.invalid(field + ".type", "unknown rlimit '" + r.getType() + "'"));
            if (Long.compareUnsigned(r.getSoft(), r.getHard()) > 0) {
                throw VesselException.invalid(field, "soft limit " + Long.toUnsignedString(r.getSoft())
                        + " exceeds hard limit " + Long.toUnsignedString(r.getHard()));
            }
            byResource.put(type.resource(), new HelperPlan.Rlimit(type.resource(), r.getSoft(), r.getHard()));
        }
        return List.copyOf(byResource.values());
    }

    /** The launch info's sets, none without them; a non-root user keeps only the bounding set. */
    static HelperPlan.Caps caps(LaunchInfo info, int uid) {
        CapabilitySet s = info.getCapabilities(); // all empty when no isolator gave any
        long bounding = mask("launch_info.capabilities.bounding", s.getBoundingList());
        if (uid != 0) {
            return new HelperPlan.Caps(bounding, 0, 0, 0, 0);
        }
        return new HelperPlan.Caps(bounding, mask("launch_info.capabilities.effective", s.getEffectiveList()),
                mask("launch_info.capabilities.permitted", s.getPermittedList()),
                mask("launch_info.capabilities.inheritable", s.getInheritableList()),
                mask("launch_info.capabilities.ambient", s.getAmbientList()));
    }

    private static long mask(String field, List<String> names) {
        long mask = 0;
        for (String name : names) {
            Capability c = Capability.parse(name)
                    .orElseThrow(() -> VesselException.invalid(field, "unknown capability '" + name + "'"));
            if (c.number() <= CAP_LAST) {
                mask |= 1L << c.number();
            }
        }
        return mask;
    }

    private static int capLast() {
        // Files.readString trusts the size procfs reports and returns "4" for "40": read as a stream.
        try (InputStream in = Files.newInputStream(Path.of("/proc/sys/kernel/cap_last_cap"))) {
            return Integer.parseInt(new String(in.readAllBytes(), StandardCharsets.US_ASCII).trim());
        } catch (IOException | NumberFormatException e) {
            return Capability.values().length - 1;
        }
    }
}
