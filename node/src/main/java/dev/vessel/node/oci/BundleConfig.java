package dev.vessel.node.oci;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.device.HostDevice;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.hooks.ContainerHooks;
import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Device;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.HostPathVolume;
import dev.vessel.core.model.IdMapping;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.PathRules;
import dev.vessel.core.model.Rlimit;
import dev.vessel.core.model.Seccomp;
import dev.vessel.core.model.TmpfsVolume;
import dev.vessel.core.model.Volume;
import dev.vessel.core.network.NetworkNames;
import dev.vessel.core.userns.IdMaps;
import dev.vessel.core.userns.UserNamespaceMode;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.isolators.cgroups.DevicesIsolator;
import dev.vessel.linux.CgroupDeviceProgram;
import dev.vessel.linux.Capability;
import dev.vessel.node.cli.Sizes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * An OCI runtime-spec 1.x bundle's {@code config.json} as a Vessel {@link ContainerConfig}, one method per
 * section of the spec. What Vessel cannot honour is refused with the JSON path of the field
 * ({@code linux.namespaces[1].path: …}), never dropped. A few fields are read and not acted on, their effect
 * being Vessel's anyway or harmless (docs/architecture.md says why for each): {@code process.consoleSize},
 * {@code process.noNewPrivileges} (always set), {@code process.user.username},
 * {@code linux.resources.memory.swap} (its sense checked), {@code linux.resources.cpu.period} without a quota
 * (see {@link OciResources}), a {@code linux.devices} entry's {@code uid}/{@code gid} in a user namespace,
 * and the {@code /dev/mqueue} and {@code /sys/fs/cgroup} mounts.
 */
public final class BundleConfig {
    /** The labels an OCI container carries: its bundle, and its annotations as one JSON object. */
    public static final String BUNDLE_LABEL = ContainerHooks.BUNDLE_LABEL;
    public static final String ANNOTATIONS_LABEL = ContainerHooks.ANNOTATIONS_LABEL;
    /** The annotation that picks a bundle's isolation, {@code vm} or {@code process}, over the runtime's default. */
    public static final String ISOLATION_ANNOTATION = "dev.vessel.isolation";

    private static final ObjectMapper JSON = new ObjectMapper();
    /** A VM container's /dev/shm in place of its engine's bind there: podman's default {@code --shm-size}. */
    static final long VM_SHM_BYTES = 64L << 20;
    /** The file systems the launch helper mounts itself in every container with a root file system. */
    private static final Map<String, String> STANDARD_MOUNTS = Map.of("/proc", "proc", "/sys", "sysfs", "/dev", "tmpfs",
            "/dev/pts", "devpts", "/dev/shm", "tmpfs");
    /** Mounts Vessel does not make and whose absence a program does not notice in practice. */
    private static final Map<String, String> UNMOUNTED = Map.of("/dev/mqueue", "mqueue", "/sys/fs/cgroup", "cgroup");
    private static final Set<String> BIND_FLAGS = Set.of("bind", "rbind", "ro", "rw", "private", "rprivate", "nosuid",
            "nodev", "noexec", "relatime", "norelatime", "strictatime");
    private static final Set<String> REQUIRED_NAMESPACES = Set.of("pid", "mount", "ipc", "uts");
    private static final int DEFAULT_UMASK = 022;
    /** Where a listed device's host node is looked for when the entry's own path is not it. */
    private static final Path DEV = Path.of("/dev");

    private final JsonNode root;
    private final Path bundle;
    private final ContainerConfig.Builder out = ContainerConfig.newBuilder().setIsolation(Isolation.PROCESS);

    private BundleConfig(JsonNode root, Path bundle) {
        this.root = root;
        this.bundle = bundle;
    }

    /**
     * Reads {@code <bundle>/config.json}; the bundle must be an absolute directory. {@code isolation} is the
     * runtime's default ({@code vessel-runtime --vm}: VM), which the bundle's {@link #ISOLATION_ANNOTATION}
     * overrides.
     */
    public static ContainerConfig read(String id, Path bundle, Isolation isolation) {
        if (!bundle.isAbsolute() || !Files.isDirectory(bundle)) {
            throw VesselException.invalid("bundle", Quoted.of(bundle.toString()) + " is not an absolute directory");
        }
        JsonNode config;
        try {
            config = JSON.readTree(bundle.resolve("config.json").toFile());
        } catch (IOException e) {
            throw VesselException.invalid("bundle", "cannot read " + bundle.resolve("config.json") + ": " + e.getMessage());
        }
        return translate(id, bundle, config, isolation);
    }

    /**
     * An exec's process ({@code runc exec --process FILE}: a process section of the runtime spec) as Vessel
     * runs it in {@code container}: its args, env (over the container's), cwd and user. It runs with the
     * container's capabilities, rlimits and OOM score, so the process must ask for those (engines pass them again);
     * a terminal is the exec's own, as for the container.
     */
    public static ExecConfig execConfig(ContainerConfig container, JsonNode process) {
        if (!process.isObject()) {
            throw refused("process", "is required: Vessel runs a process from it");
        }
        // An exec has its container's capability masks whatever its user (so have podman's and runc's): the
        // bounding set must be the container's, the others within it.
        ObjectNode withoutCapabilities = ((ObjectNode) process).deepCopy();
        JsonNode caps = withoutCapabilities.remove("capabilities");
        if (caps != null) {
            Set<String> bounding = new TreeSet<>(strings(caps.path("bounding"), "process.capabilities.bounding"));
            if (!bounding.equals(boundingSet(container.getCapabilities()))) {
                throw refused("process.capabilities.bounding", "must be the container's: an exec runs with its"
                        + " container's capabilities");
            }
            for (String set : List.of("effective", "permitted", "inheritable", "ambient")) {
                if (!bounding.containsAll(strings(caps.path(set), "process.capabilities." + set))) {
                    throw refused("process.capabilities." + set, "must be within the bounding set");
                }
            }
        }
        BundleConfig exec = new BundleConfig(JSON.createObjectNode(), null);
        exec.process(withoutCapabilities);
        ContainerConfig asked = exec.out.build();
        if (!asked.getRlimitsList().equals(container.getRlimitsList())) {
            throw refused("process.rlimits", "must be the container's: an exec runs with its container's");
        }
        if (asked.hasOomScoreAdj() && (!container.hasOomScoreAdj()
                || asked.getOomScoreAdj() != container.getOomScoreAdj())) {
            throw refused("process.oomScoreAdj", "must be the container's: an exec runs with its container's");
        }
        // As another user, an exec gets that user's groups from the container's /etc/group, as initgroups(3)
        // does, which is where podman takes the list it sends from; as the container's user, the container's.
        if (asked.getUser().equals(container.getUser())
                && !asked.getAdditionalGidsList().equals(container.getAdditionalGidsList())) {
            throw refused("process.user.additionalGids", "must be the container's: an exec as its user runs with its"
                    + " groups");
        }
        return ExecConfig.newBuilder().addAllCommand(asked.getCommandList()).addAllEnv(asked.getEnvList())
                .setUser(asked.getUser()).setWorkingDir(asked.getWorkingDir()).setTty(asked.getTty())
                .setInteractive(asked.getInteractive()).build();
    }

    /** The capabilities a container's config gives its task: Vessel's default set, less its drops, plus its adds. */
    private static Set<String> boundingSet(Capabilities capabilities) {
        Set<String> set = new TreeSet<>();
        if (!capabilities.getDropList().contains("ALL")) {
            Capability.CONTAINER_DEFAULT.forEach(c -> set.add(c.name()));
        }
        capabilities.getDropList().forEach(set::remove);
        set.addAll(capabilities.getAddList());
        return set;
    }

    static ContainerConfig translate(String id, Path bundle, JsonNode config, Isolation isolation) {
        if (config == null || !config.isObject()) {
            throw refused("", "config.json must hold a JSON object");
        }
        return new BundleConfig(config, bundle).translate(id, isolation);
    }

    private ContainerConfig translate(String id, Isolation isolation) {
        known(root, "", "ociVersion", "process", "root", "hostname", "domainname", "mounts", "hooks", "annotations",
                "linux");
        String version = root.path("ociVersion").asText("");
        if (!version.startsWith("1.")) {
            throw refused("ociVersion", Quoted.of(version) + " is not a runtime-spec 1.x version");
        }
        out.setId(id).putLabels(BUNDLE_LABEL, bundle.toString());
        if (root.has("annotations")) {
            out.putLabels(ANNOTATIONS_LABEL, root.get("annotations").toString());
        }
        out.setIsolation(isolation(root.path("annotations").path(ISOLATION_ANNOTATION), isolation));
        process(root.path("process"));
        root(root.path("root"));
        hostname();
        mounts(root.path("mounts"));
        hooks(root.path("hooks"));
        linux(root.path("linux"));
        if (inVm()) {
            // the engine reads what the container wrote in its rootfs (podman diff, commit, cp), with its owners
            out.getVmBuilder().setKeepRootfsOwners(true);
        }
        return out.build();
    }

    private static Isolation isolation(JsonNode annotation, Isolation otherwise) {
        if (annotation.isMissingNode()) {
            return otherwise;
        }
        return switch (annotation.asText()) {
            case "vm" -> Isolation.VM;
            case "process" -> Isolation.PROCESS;
            default -> throw refused("annotations[\"" + ISOLATION_ANNOTATION + "\"]", Quoted.of(annotation.asText())
                    + " is not an isolation: vm or process");
        };
    }

    private boolean inVm() {
        return out.getIsolation() == Isolation.VM;
    }

    // ---------------------------------------------------------------------------------------------
    // process

    private void process(JsonNode process) {
        if (!process.isObject()) {
            throw refused("process", "is required: Vessel runs a process from it");
        }
        known(process, "process", "terminal", "consoleSize", "user", "args", "env", "cwd", "capabilities", "rlimits",
                "noNewPrivileges", "apparmorProfile", "oomScoreAdj", "selinuxLabel");
        if (process.path("terminal").asBoolean(false)) {
            // a pty in the task's own devpts, held by Vessel's monitor; the runtime's shim relays it to the
            // engine's console socket, input included
            out.setTty(true).setInteractive(true);
        }
        emptyOrAbsent(process, "process", "apparmorProfile");
        emptyOrAbsent(process, "process", "selinuxLabel");
        if (process.has("oomScoreAdj")) {
            JsonNode score = process.get("oomScoreAdj");
            if (!score.isIntegralNumber() || score.asLong() < -1000 || score.asLong() > 1000) {
                throw refused("process.oomScoreAdj", Quoted.of(score.toString()) + " is not from -1000 to 1000");
            }
            out.setOomScoreAdj(score.asInt());
        }
        List<String> args = strings(process.path("args"), "process.args");
        if (args.isEmpty()) {
            throw refused("process.args", "must name the program to run");
        }
        out.addAllCommand(args);
        List<String> env = strings(process.path("env"), "process.env");
        for (int i = 0; i < env.size(); i++) {
            int eq = env.get(i).indexOf('=');
            if (eq <= 0) {
                throw refused("process.env[" + i + "]", Quoted.of(env.get(i)) + " is not NAME=VALUE");
            }
            out.addEnv(EnvVar.newBuilder().setName(env.get(i).substring(0, eq)).setValue(env.get(i).substring(eq + 1)));
        }
        out.setWorkingDir(process.path("cwd").asText("/"));
        long uid = user(process.path("user"));
        capabilities(process.path("capabilities"), uid);
        rlimits(process.path("rlimits"));
    }

    /** Returns the uid, which decides what capabilities the process may hold. */
    private long user(JsonNode user) {
        known(user, "process.user", "uid", "gid", "umask", "additionalGids", "username");
        long uid = user.path("uid").asLong(0);
        long gid = user.path("gid").asLong(0);
        out.setUser(uid + ":" + gid);
        for (JsonNode g : user.path("additionalGids")) {
            out.addAdditionalGids(g.asInt());
        }
        if (user.has("umask") && user.get("umask").asInt() != DEFAULT_UMASK) {
            throw refused("process.user.umask", "only 0022 (18) is supported: Vessel's tasks start with that umask");
        }
        return uid;
    }

    /**
     * Vessel takes a capability set as adds and drops on its default set, and gives root the set in full
     * (effective = permitted = bounding) and any other user only the bounding set, as runc and podman do.
     */
    private void capabilities(JsonNode caps, long uid) {
        if (caps.isMissingNode()) {
            out.setCapabilities(Capabilities.newBuilder().addDrop("ALL"));
            return;
        }
        known(caps, "process.capabilities", "bounding", "effective", "permitted", "inheritable", "ambient");
        Set<String> bounding = new TreeSet<>(strings(caps.path("bounding"), "process.capabilities.bounding"));
        for (String set : List.of("effective", "permitted", "inheritable", "ambient")) {
            Set<String> given = new TreeSet<>(strings(caps.path(set), "process.capabilities." + set));
            boolean fullForRoot = uid == 0 && (set.equals("effective") || set.equals("permitted"));
            // runc spec's default gives root ambient capabilities of its bounding set: a root task gets those on
            // every execve anyway, and the kernel clears the ambient set when it changes to another user
            boolean noOpForRoot = uid == 0 && set.equals("ambient") && bounding.containsAll(given);
            if (!noOpForRoot && !given.equals(fullForRoot ? bounding : Set.of())) {
                throw refused("process.capabilities." + set, "must be " + (fullForRoot ? "the bounding set"
                        : "empty") + " for uid " + uid + " (Vessel gives " + (uid == 0 ? "root its bounding set in full"
                        : "a non-root user only the bounding set") + ")");
            }
        }
        Set<String> defaults = new TreeSet<>();
        Capability.CONTAINER_DEFAULT.forEach(c -> defaults.add(c.name()));
        Capabilities.Builder b = Capabilities.newBuilder();
        for (String name : bounding) {
            if (Capability.parse(name).isEmpty()) {
                throw refused("process.capabilities.bounding", Quoted.of(name) + " is not a capability this kernel knows");
            }
            if (!defaults.contains(name)) {
                b.addAdd(name);
            }
        }
        defaults.stream().filter(d -> !bounding.contains(d)).forEach(b::addDrop);
        out.setCapabilities(b);
    }

    private void rlimits(JsonNode rlimits) {
        for (int i = 0; i < rlimits.size(); i++) {
            JsonNode r = rlimits.get(i);
            known(r, "process.rlimits[" + i + "]", "type", "soft", "hard");
            out.addRlimits(Rlimit.newBuilder().setType(r.path("type").asText()).setSoft(r.path("soft").asLong())
                    .setHard(r.path("hard").asLong()));
        }
    }

    // ---------------------------------------------------------------------------------------------
    // root, hostname, mounts, hooks

    private void root(JsonNode rootNode) {
        known(rootNode, "root", "path", "readonly");
        String path = rootNode.path("path").asText("");
        if (path.isEmpty()) {
            throw refused("root.path", "is required: Vessel runs a bundle's process in its root file system");
        }
        out.setHostRootfs(bundle.resolve(path).normalize().toString());
        out.setReadOnlyRootfs(rootNode.path("readonly").asBoolean(false));
    }

    private void hostname() {
        out.setHostname(root.path("hostname").asText(""));
        emptyOrAbsent(root, "", "domainname");
    }

    private void mounts(JsonNode mounts) {
        for (int i = 0; i < mounts.size(); i++) {
            mount(mounts.get(i), "mounts[" + i + "]");
        }
    }

    private void mount(JsonNode m, String at) {
        known(m, at, "destination", "type", "source", "options", "uidMappings", "gidMappings");
        String target = m.path("destination").asText("");
        String type = m.path("type").asText("");
        List<String> options = strings(m.path("options"), at + ".options");
        if (m.has("uidMappings") || m.has("gidMappings")) {
            throw refused(at + ".uidMappings", "idmapped mounts are not supported");
        }
        if (type.equals("bind") || options.contains("bind") || options.contains("rbind")) {
            bind(m, at, target, options);
        } else if (type.equals(STANDARD_MOUNTS.get(target)) || type.equals(UNMOUNTED.get(target))) {
            return; // the helper's own /proc, /sys, /dev, /dev/pts, /dev/shm; no /dev/mqueue, /sys/fs/cgroup
        } else if (type.equals("tmpfs")) {
            tmpfs(at, target, options);
        } else {
            throw refused(at + ".type", Quoted.of(type) + " on " + Quoted.of(target) + " is not supported (bind and"
                    + " tmpfs are, and the standard /proc, /sys, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys/fs/cgroup)");
        }
    }

    private void bind(JsonNode m, String at, String target, List<String> options) {
        if (inVm() && target.equals("/dev/shm")) {
            // an engine's shareable IPC (podman binds a directory of its storage there): shared memory cannot
            // cross a VM's boundary, so the guest's container gets a tmpfs of podman's default shm size, as Kata does
            out.addVolumes(Volume.newBuilder().setTarget(target).setTmpfs(TmpfsVolume.newBuilder()
                    .setSizeBytes(VM_SHM_BYTES).setMode(01777).setNoexec(true)));
            return;
        }
        HostPathVolume.Builder source = HostPathVolume.newBuilder()
                .setPath(bundle.resolve(m.path("source").asText("")).normalize().toString());
        for (int i = 0; i < options.size(); i++) {
            String option = options.get(i);
            if (!BIND_FLAGS.contains(option)) {
                throw refused(at + ".options[" + i + "]", Quoted.of(option) + " is not supported on a bind mount");
            }
            if (option.equals("nosuid") || option.equals("nodev") || option.equals("noexec")) {
                source.addOptions(option);
            }
        }
        out.addVolumes(Volume.newBuilder().setTarget(target).setReadOnly(options.contains("ro")).setHostPath(source));
    }

    private void tmpfs(String at, String target, List<String> options) {
        TmpfsVolume.Builder tmpfs = TmpfsVolume.newBuilder();
        boolean readOnly = false;
        for (int i = 0; i < options.size(); i++) {
            String option = options.get(i);
            String where = at + ".options[" + i + "]";
            if (option.startsWith("size=")) {
                tmpfs.setSizeBytes(size(option.substring(5), where));
            } else if (option.startsWith("mode=")) {
                tmpfs.setMode(mode(option.substring(5), where));
            } else if (option.equals("noexec")) {
                tmpfs.setNoexec(true);
            } else if (option.equals("ro")) {
                readOnly = true;
            } else if (!Set.of("nosuid", "nodev", "rw", "strictatime", "relatime", "rprivate", "private", "tmpcopyup")
                    .contains(option)) {
                // Vessel's tmpfs is always nosuid and nodev
                throw refused(where, Quoted.of(option) + " is not supported on a tmpfs");
            }
        }
        out.addVolumes(Volume.newBuilder().setTarget(target).setReadOnly(readOnly).setTmpfs(tmpfs));
    }

    /** The hooks vesseld runs are kept for it ({@link OciHooks}); the others are refused. */
    private void hooks(JsonNode hooks) {
        // in a VM container, createContainer runs in the namespaces of its QEMU on the host, as Kata's runtime runs
        // it, and startContainer in the guest, which runs the container's hooks between its create and its start
        String kept = OciHooks.check(hooks);
        if (!kept.equals("{}")) {
            out.putLabels(ContainerHooks.LABEL, kept);
        }
    }

    // ---------------------------------------------------------------------------------------------
    // linux

    /**
     * Where the engine wants the container's cgroups (podman's {@code /libpod_parent/libpod-ID}, containerd's
     * {@code /NAMESPACE/ID}, the kubelet's {@code /kubepods/…/pod<uid>/ID}): taken as it is; a relative path is
     * taken from the hierarchy's root, as runc takes it when run from the root cgroup. systemd's
     * {@code slice:prefix:name} comes only with {@code --systemd-cgroup}, which is refused.
     */
    private void cgroupsPath(String path) {
        if (path.isEmpty()) {
            return;
        }
        if (!path.startsWith("/") && path.split(":", -1).length == 3) {
            throw refused("linux.cgroupsPath", Quoted.of(path) + " is a systemd slice:prefix:name; Vessel manages its"
                    + " containers' cgroups through cgroupfs paths");
        }
        String absolute = ("/" + path).replaceAll("/+", "/").replaceAll("(.)/$", "$1");
        ConfigValidator.cgroupPathProblem(absolute).ifPresent(problem -> {
            throw refused("linux.cgroupsPath", problem);
        });
        out.setCgroupPath(absolute);
    }

    private void linux(JsonNode linux) {
        known(linux, "linux", "namespaces", "uidMappings", "gidMappings", "resources", "cgroupsPath", "seccomp",
                "maskedPaths", "readonlyPaths", "sysctl", "rootfsPropagation", "devices", "mountLabel");
        boolean userNamespace = namespaces(linux.path("namespaces"));
        idMaps(linux, userNamespace);
        sysctl(linux.path("sysctl"));
        List<Listed> listed = devices(linux.path("devices"), userNamespace);
        emptyOrAbsent(linux, "linux", "mountLabel");
        cgroupsPath(linux.path("cgroupsPath").asText(""));
        String propagation = linux.path("rootfsPropagation").asText("");
        if (!Set.of("", "private", "rprivate").contains(propagation)) {
            throw refused("linux.rootfsPropagation", Quoted.of(propagation)
                    + " is not supported: a Vessel container's mounts are private");
        }
        resources(linux.path("resources"), listed);
        seccomp(linux.path("seccomp"));
        if (linux.has("maskedPaths") || linux.has("readonlyPaths")) {
            out.setPathRules(PathRules.newBuilder()
                    .addAllMasked(strings(linux.path("maskedPaths"), "linux.maskedPaths"))
                    .addAllReadonly(strings(linux.path("readonlyPaths"), "linux.readonlyPaths")));
        }
    }

    /**
     * Kernel parameters, as the config's {@code sysctls}: the daemon's validation takes those of the container's
     * own network or IPC namespace (runc's rule) and refuses any other, naming it.
     */
    private void sysctl(JsonNode sysctl) {
        if (sysctl.isMissingNode() || sysctl.isNull()) {
            return;
        }
        if (!sysctl.isObject()) {
            throw refused("linux.sysctl", "must be an object of parameter names and values");
        }
        for (Map.Entry<String, JsonNode> parameter : sysctl.properties()) {
            if (!parameter.getValue().isTextual()) {
                throw refused("linux.sysctl." + parameter.getKey(), "must be a string");
            }
            out.putSysctls(parameter.getKey(), parameter.getValue().asText());
        }
    }

    /**
     * A new user namespace takes the bundle's maps as they are (userns private): the engine that made the rootfs
     * owns its files for those ids, as runc expects. Maps without the namespace, or the namespace without maps,
     * are refused.
     */
    private void idMaps(JsonNode linux, boolean userNamespace) {
        boolean maps = !linux.path("uidMappings").isEmpty() || !linux.path("gidMappings").isEmpty();
        if (!userNamespace) {
            if (maps) {
                throw refused("linux." + (linux.path("uidMappings").isEmpty() ? "gidMappings" : "uidMappings"),
                        "needs a user namespace in linux.namespaces to map");
            }
            if (!inVm()) {
                out.setUserns(UserNamespaceMode.HOST.configName()); // none listed: the host's, whatever the node's default
            }
            return;
        }
        for (String field : List.of("uidMappings", "gidMappings")) {
            JsonNode list = linux.path(field);
            if (list.isEmpty()) {
                throw refused("linux." + field, "is required with a new user namespace");
            }
            for (int i = 0; i < list.size(); i++) {
                String at = "linux." + field + "[" + i + "]";
                known(list.get(i), at, "containerID", "hostID", "size");
                IdMapping m = IdMapping.newBuilder().setContainerId(uint32(list.get(i), at, "containerID"))
                        .setHostId(uint32(list.get(i), at, "hostID")).setSize(uint32(list.get(i), at, "size")).build();
                if (field.equals("uidMappings")) {
                    out.addUidMap(m);
                } else {
                    out.addGidMap(m);
                }
            }
        }
        IdMaps.problem("linux.uidMappings", out.getUidMapList(), IdMaps.Names.OCI)
                .or(() -> IdMaps.problem("linux.gidMappings", out.getGidMapList(), IdMaps.Names.OCI))
                .ifPresent(p -> {
                    throw refused(p.field(), p.message());
                });
        out.setUserns(UserNamespaceMode.PRIVATE.configName());
    }

    private static int uint32(JsonNode entry, String at, String field) {
        JsonNode value = entry.path(field);
        if (!value.canConvertToLong() || !value.isIntegralNumber() || value.asLong() < 0
                || value.asLong() > 0xffff_ffffL) {
            throw refused(at + "." + field, "must be a number from 0 to 4294967295");
        }
        return (int) value.asLong();
    }

    /**
     * A container has its own pid, mount, ipc and uts namespaces (and a cgroup one): new, or for all but the mount
     * one joined where the bundle gives a path (a Kubernetes pod's containers join their sandbox's IPC and UTS);
     * the network namespace is one choice: none listed shares the host's, one listed is new, one with a path is
     * joined; the user namespace the other: none listed is the host's, one listed is new with the bundle's maps.
     * Answers whether a new user namespace is asked for.
     */
    private boolean namespaces(JsonNode namespaces) {
        Set<String> types = new LinkedHashSet<>();
        boolean network = false;
        boolean user = false;
        for (int i = 0; i < namespaces.size(); i++) {
            JsonNode ns = namespaces.get(i);
            String at = "linux.namespaces[" + i + "]";
            known(ns, at, "type", "path");
            String type = ns.path("type").asText("");
            String path = ns.path("path").asText("");
            types.add(type);
            switch (type) {
                case "network" -> {
                    network = true;
                    if (!path.isEmpty()) {
                        // a VM container's NICs are connected to the engine's interfaces there (vm/network)
                        out.setNetworkNamespacePath(path);
                    }
                }
                case "mount" -> {
                    if (!path.isEmpty()) {
                        throw refused(at + ".path", "joining an existing mount namespace is not supported");
                    }
                }
                case "pid", "ipc", "uts", "cgroup" -> {
                    if (!path.isEmpty() && inVm()) {
                        throw refused(at + ".path", "a VM container's namespaces are its guest's: it joins none of"
                                + " the host's");
                    }
                    if (!path.isEmpty()) {
                        // a Kubernetes pod's sandbox's, podman's --ipc/--uts/--pid container:ID
                        out.putNamespacePaths(type, path);
                    }
                }
                case "user" -> {
                    if (!path.isEmpty()) {
                        throw refused(at + ".path", "joining an existing user namespace is not supported");
                    }
                    if (inVm()) {
                        throw refused(at + ".type", "a VM container has no user namespace: its VM is its boundary");
                    }
                    user = true;
                }
                default -> throw refused(at + ".type", Quoted.of(type) + " namespaces are not supported");
            }
        }
        for (String required : REQUIRED_NAMESPACES) {
            if (!types.contains(required)) {
                throw refused("linux.namespaces", "has no " + required + " namespace: Vessel always gives a"
                        + " container its own, sharing the host's is not supported");
            }
        }
        if (!network && inVm()) {
            throw refused("linux.namespaces", "has no network namespace: a VM container cannot share the host's"
                    + " (list a new one, e.g. podman --network none)");
        }
        if (!network) {
            out.addNetworks(NetworkAttachment.newBuilder().setNetwork(NetworkNames.HOST));
        }
        return user;
    }

    /** A {@code linux.devices} entry: the host's node of its type and number, and where the container has it. */
    private record Listed(int index, HostDevice host, String path) {
    }

    /**
     * {@code linux.devices}: each entry is the host's node of that type and number (its own path on the host when
     * it is one there, as podman's is unless told otherwise, else the first under /dev), bound at the entry's
     * path, so its mode and, without a user namespace, its owner must be the host node's; in a user namespace the
     * owner is read and ignored (the node keeps the host's, as runc's bind does). Their permissions come from the
     * allow rules of {@code linux.resources.devices}.
     */
    private List<Listed> devices(JsonNode devices, boolean userNamespace) {
        List<Listed> listed = new ArrayList<>();
        if (!devices.isEmpty() && inVm()) {
            throw refused("linux.devices", "host devices cannot enter a VM (whole GPUs can: Vessel's --gpus)");
        }
        for (int i = 0; i < devices.size(); i++) {
            JsonNode d = devices.get(i);
            String at = "linux.devices[" + i + "]";
            known(d, at, "path", "type", "major", "minor", "fileMode", "uid", "gid");
            String path = d.path("path").asText("");
            if (!path.startsWith("/")) {
                throw refused(at + ".path", Quoted.of(path) + " must be an absolute path");
            }
            String type = d.path("type").asText("");
            if (!Set.of("c", "u", "b").contains(type)) {
                throw refused(at + ".type", Quoted.of(type) + " is not supported: c, u or b (a host's node is bound)");
            }
            char kind = type.equals("b") ? 'b' : 'c';
            for (String number : List.of("major", "minor")) {
                if (!d.path(number).canConvertToInt() || d.path(number).asInt() < 0) {
                    throw refused(at + "." + number, "must be a device number");
                }
            }
            HostDevice host;
            try {
                host = HostDevice.find(DEV, kind, d.get("major").asInt(), d.get("minor").asInt(), Path.of(path))
                        .orElseThrow(() -> refused(at, "this host has no node " + kind + " " + d.get("major").asInt()
                                + ":" + d.get("minor").asInt() + ": Vessel binds the host's node into the container"));
            } catch (IOException e) {
                throw refused(at, "cannot look for its node under " + DEV + ": " + e.getMessage());
            }
            if (d.has("fileMode") && (d.get("fileMode").asInt() & 07777) != host.mode()) {
                throw refused(at + ".fileMode", "0" + Integer.toOctalString(d.get("fileMode").asInt() & 07777)
                        + " is not the mode of the host's node " + host.path() + " (0" + Integer.toOctalString(host.mode())
                        + "), which the container gets bound as it is");
            }
            for (String owner : List.of("uid", "gid")) {
                int hostId = owner.equals("uid") ? host.uid() : host.gid();
                if (!userNamespace && d.has(owner) && d.get(owner).asLong() != hostId) {
                    throw refused(at + "." + owner, d.get(owner).asLong() + " is not the owner of the host's node "
                            + host.path() + " (" + hostId + "), which the container gets bound as it is");
                }
            }
            listed.add(new Listed(i, host, path));
        }
        return listed;
    }

    private void resources(JsonNode resources, List<Listed> listed) {
        out.setResources(OciResources.atCreate(resources, Set.of("devices"), BundleConfig::refused));
        deviceRules(resources.path("devices"), listed);
    }

    /**
     * {@code linux.resources.devices}: the rule denying every device, allow rules naming exactly a listed device
     * (its access becomes the device's permissions: podman's {@code --device} sends the node and such a rule),
     * and allow rules within the standard set (containerd lists those again after denying all); an allow before
     * the deny-all is undone by it, as in the kernel. A listed device no rule allows is there but cannot be opened
     * (as with runc), unless it is a standard one, which every container may use anyway.
     */
    private void deviceRules(JsonNode rules, List<Listed> listed) {
        Map<Integer, Set<Character>> access = new HashMap<>();
        for (int i = 0; i < rules.size(); i++) {
            JsonNode d = rules.get(i);
            boolean allow = d.path("allow").asBoolean(false);
            CgroupDeviceProgram.Rule rule = new CgroupDeviceProgram.Rule(d.path("type").asText("a").charAt(0),
                    d.path("major").asInt(-1), d.path("minor").asInt(-1), d.path("access").asText("rwm"));
            if (!allow && new CgroupDeviceProgram.Rule('a', -1, -1, "rwm").equals(rule)) {
                access.clear();
                continue;
            }
            List<Listed> named = allow && rule.major() >= 0 && rule.minor() >= 0 ? listed.stream()
                    .filter(l -> l.host().is(rule.type(), rule.major(), rule.minor())).toList() : List.of();
            boolean standard = allow && DevicesIsolator.ALLOWED_RULES.stream().anyMatch(s -> s.covers(rule));
            if (named.isEmpty() && !standard) {
                throw refused("linux.resources.devices[" + i + "]", "only the rule denying every device and rules"
                        + " allowing a device of linux.devices or a standard one (null, zero, full, random, urandom,"
                        + " tty, console, ptmx, pts) are supported");
            }
            for (Listed l : named) {
                if (!rule.access().matches("[rwm]+")) {
                    throw refused("linux.resources.devices[" + i + "].access", Quoted.of(rule.access())
                            + " must be letters of rwm");
                }
                rule.access().chars().forEach(c -> access.computeIfAbsent(l.index(), k -> new TreeSet<>()).add((char) c));
            }
        }
        for (Listed l : listed) {
            Set<Character> letters = access.get(l.index());
            boolean standard = DevicesIsolator.ALLOWED_RULES.stream()
                    .anyMatch(s -> s.covers(new CgroupDeviceProgram.Rule(l.host().type(), l.host().major(),
                            l.host().minor(), "rwm")));
            StringBuilder permissions = new StringBuilder();
            for (char letter : "rwm".toCharArray()) {
                if (letters != null ? letters.contains(letter) : standard || letter == 'm') {
                    permissions.append(letter);
                }
            }
            out.addDevices(Device.newBuilder().setHostPath(l.host().path().toString()).setPath(l.path())
                    .setPermissions(permissions.toString()));
        }
    }

    /** No {@code linux.seccomp}: no filter, as with runc. */
    private void seccomp(JsonNode seccomp) {
        if (seccomp.isMissingNode() || seccomp.isNull()) {
            out.setSeccomp(Seccomp.newBuilder().setUnconfined(true));
            return;
        }
        if (seccomp.has("listenerPath")) {
            throw refused("linux.seccomp.listenerPath", "seccomp notification listeners are not supported");
        }
        out.setSeccomp(Seccomp.newBuilder().setProfileJson(seccomp.toString()));
    }

    // ---------------------------------------------------------------------------------------------

    private static long size(String text, String at) {
        try {
            return Sizes.parse(text);
        } catch (RuntimeException e) {
            throw refused(at, e.getMessage());
        }
    }

    private static int mode(String text, String at) {
        try {
            return Integer.parseInt(text, 8);
        } catch (NumberFormatException e) {
            throw refused(at, Quoted.of(text) + " is not an octal mode");
        }
    }

    /** Any member not in {@code names} is refused, named by its path. */
    private static void known(JsonNode node, String at, String... names) {
        Set<String> allowed = Set.of(names);
        Iterator<String> fields = node.fieldNames();
        while (fields.hasNext()) {
            String field = fields.next();
            if (!allowed.contains(field)) {
                throw refused(at.isEmpty() ? field : at + "." + field, "is not supported by Vessel");
            }
        }
    }

    private static void emptyOrAbsent(JsonNode node, String at, String field) {
        if (!node.path(field).asText("").isEmpty()) {
            throw refused(at.isEmpty() ? field : at + "." + field, "is not supported by Vessel");
        }
    }

    private static List<String> strings(JsonNode array, String at) {
        List<String> values = new ArrayList<>();
        for (int i = 0; i < array.size(); i++) {
            if (!array.get(i).isTextual()) {
                throw refused(at + "[" + i + "]", "must be a string");
            }
            values.add(array.get(i).asText());
        }
        return values;
    }

    static VesselException refused(String path, String problem) {
        return VesselException.invalid("config.json", (path.isEmpty() ? "" : path + ": ") + problem);
    }
}
