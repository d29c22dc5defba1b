package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.linux.Capability;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/** {@code vessel run}: creates a container (pulling a missing image first) and, unless detached, follows it to its end. */
@Command(name = "run", description = "Run a command in a new container: in the foreground it streams the output and"
        + " exits with the task's exit code (128+N for signal N); Ctrl-C sends it SIGTERM.")
final class RunCommand implements Callable<Integer> {
    private static final int SIGTERM = 15;
    private static final String SHM = "/dev/shm";

    record Mount(String source, String target, boolean readOnly) {
    }

    record Port(int host, int container, String protocol) {
    }

    /** A {@code --restart}: the policy's name and, for on-failure, the most restarts in a row (0: no limit). */
    record RestartPolicy(String policy, int maxRetries) {
    }

    /** A {@code --tmpfs}: mounted nosuid and nodev always, noexec unless {@code exec} is given. */
    record Tmpfs(String target, long sizeBytes, int mode, boolean readOnly, boolean noexec) {
    }

    /** A {@code --fetch}: a URI the node fetches into the sandbox before the task starts. */
    record Fetch(String uri, boolean extract, boolean executable, String sha256) {
    }

    /** The pull policies of podman's {@code --pull}. */
    enum PullPolicy { always, missing, never, newer }

    /** One range of a {@code --uidmap} or {@code --gidmap}. */
    record IdMap(long container, long host, long size) {
    }

    /** A {@code --ulimit}: the type as the config names it (RLIMIT_NOFILE), its soft and hard limits. */
    record Ulimit(String type, long soft, long hard) {
    }

    @ParentCommand
    private Vessel vessel;
    @Spec
    private CommandLine.Model.CommandSpec spec;

    // no -h for help: podman's run -h is --hostname
    @Option(names = "--help", usageHelp = true, description = "show this help and exit")
    private boolean help;
    @Option(names = {"-w", "--workdir"}, paramLabel = "DIR", description = "the task's working directory, absolute"
            + " (default: the image's WorkingDir)")
    private String workdir;
    @Option(names = {"-u", "--user"}, paramLabel = "USER[:GROUP]", description = "the task's user and group: names"
            + " (looked up in the container's /etc/passwd and /etc/group) or numeric ids (default: the image's User)")
    private String user;
    @Option(names = "--entrypoint", paramLabel = "CMD|JSON", description = "replace the image's Entrypoint (and drop"
            + " its Cmd): one program, or a JSON array such as '[\"sh\",\"-c\"]'")
    private String entrypoint;
    @Option(names = {"-h", "--hostname"}, paramLabel = "NAME", description = "the container's host name (default:"
            + " its id)")
    private String hostname;
    @Option(names = "--env-file", paramLabel = "FILE", description = "read variables from FILE: NAME=VALUE a line,"
            + " # comments; NAME alone takes the host's; -e overrides; repeatable")
    private List<String> envFiles = new ArrayList<>();
    @Option(names = {"-l", "--label"}, paramLabel = "KEY[=VALUE]", description = "set a label (shown by inspect);"
            + " repeatable")
    private List<String> labels = new ArrayList<>();
    @Option(names = "--label-file", paramLabel = "FILE", description = "read labels from FILE, KEY=VALUE a line;"
            + " repeatable")
    private List<String> labelFiles = new ArrayList<>();
    @Option(names = "--ulimit", paramLabel = "TYPE=SOFT[:HARD]", converter = UlimitConverter.class,
            description = "a resource limit: nofile=1024:2048, nproc=64, core=-1 (-1: unlimited); repeatable")
    private List<Ulimit> ulimits = new ArrayList<>();
    @Option(names = "--device", paramLabel = "HOST[:CTR[:PERMS]]", description = "give the container the host's"
            + " device node HOST at CTR (default HOST) with PERMS, letters of rwm (default rwm); repeatable")
    private List<String> devices = new ArrayList<>();
    @Option(names = "--pidfile", paramLabel = "FILE", description = "write the task's pid (on the host; a VM task's:"
            + " its emulator's) to FILE once it runs")
    private Path pidfile;
    @Option(names = "--group-add", paramLabel = "GROUP", description = "a supplementary group of the task, by number"
            + " or by its name in the container's /etc/group; repeatable")
    private List<String> groupAdd = new ArrayList<>();
    @Option(names = "--cidfile", paramLabel = "FILE", description = "write the container's id to FILE, which must"
            + " not exist")
    private Path cidfile;
    @Option(names = "--pull", paramLabel = "POLICY", description = "missing (the default): pull the image if the"
            + " node lacks it; always; never; newer: pull, and on failure use the node's copy if there is one")
    private PullPolicy pull = PullPolicy.missing;
    @Option(names = "--platform", paramLabel = "OS/ARCH", description = "only the node's own platform is"
            + " accepted (linux/amd64 on x86-64, linux/arm64 on aarch64)")
    private String platform;
    @Option(names = {"-q", "--quiet"}, description = "print no pull progress")
    private boolean quiet;
    @Option(names = "--uidmap", paramLabel = "CTR:HOST:SIZE", converter = IdMapConverter.class, description = "run in"
            + " a user namespace of its own mapping SIZE uids from CTR onto the host's from HOST; repeatable; without"
            + " --gidmap the gids are mapped the same")
    private List<IdMap> uidMaps = new ArrayList<>();
    @Option(names = "--gidmap", paramLabel = "CTR:HOST:SIZE", converter = IdMapConverter.class,
            description = "as --uidmap, for gids; repeatable")
    private List<IdMap> gidMaps = new ArrayList<>();

    @Option(names = "--vm", description = "isolate the task in a virtual machine")
    private boolean vm;
    @Mixin
    private VmFlags vmFlags;
    @Mixin
    private HealthFlags healthFlags;
    @Mixin
    private LimitFlags limits;
    @Mixin
    private NamespaceFlags namespaces;
    @Option(names = {"-e", "--env"}, paramLabel = "NAME=VALUE", description = "set a variable; NAME alone takes the host's")
    private List<String> env = new ArrayList<>();
    @Option(names = {"-v", "--volume"}, paramLabel = "SRC:DST[:ro]", converter = MountConverter.class,
            description = "bind a host path (absolute SRC) or a named persistent volume (SRC a name)")
    private List<Mount> volumes = new ArrayList<>();
    @Option(names = "--network", paramLabel = "NAME", description = "attach to this CNI network; 'host' shares"
            + " the host's network namespace, 'none' (the default) gives one of the container's own with only lo")
    private String network;
    @Option(names = {"-p", "--publish"}, paramLabel = "HOST:CTR[/udp]", converter = PortConverter.class,
            description = "publish a container port (needs --network with a CNI network)")
    private List<Port> ports = new ArrayList<>();
    @Option(names = "--mount", paramLabel = "type=bind|volume|tmpfs,…", converter = MountFlag.class,
            description = "a volume in podman's key=value form: type=bind,source=/host/dir,target=/dir[,ro];"
                    + " type=volume,source=NAME,target=/dir[,ro]; type=tmpfs,target=/dir[,tmpfs-size=SIZE]"
                    + "[,tmpfs-mode=OCTAL][,exec]")
    private List<MountFlag.Parsed> mountFlags = new ArrayList<>();
    @Option(names = "--tmpfs", paramLabel = "DST[:OPTS]", converter = TmpfsConverter.class,
            description = "mount a fresh tmpfs at DST; OPTS (comma-separated): size=SIZE, mode=OCTAL, ro, rw, noexec"
                    + " (the default), exec, nosuid, nodev (always)")
    private List<Tmpfs> tmpfs = new ArrayList<>();
    @Option(names = "--shm-size", paramLabel = "SIZE", converter = Sizes.class, description = "the size of /dev/shm"
            + " (default: 64m): a tmpfs of that size there, nosuid, nodev, noexec")
    private Long shmSize;
    @Option(names = "--fetch", paramLabel = "URI[,extract][,executable][,sha256=HEX]", converter = FetchConverter.class,
            description = "fetch URI (http, https, file: under the daemon's --fetcher-file-root; an absolute path is a"
                    + " file URI) into the task's sandbox, /vessel/sandbox ($VESSEL_SANDBOX), its working directory"
                    + " unless the image sets one; extract unpacks an archive there; repeatable")
    private List<Fetch> fetches = new ArrayList<>();
    @Option(names = "--read-only", description = "mount the root filesystem read-only; /run, /tmp, /var/tmp get"
            + " writable tmpfs (as podman's --read-only-tmpfs), /dev/shm stays writable")
    private boolean readOnly;
    @Option(names = "--cap-add", split = ",", paramLabel = "CAP", converter = CapabilityConverter.class,
            description = "add a capability to the default set: NET_RAW, cap_net_admin…, or ALL; repeatable")
    private List<String> capAdd = new ArrayList<>();
    @Option(names = "--cap-drop", split = ",", paramLabel = "CAP", converter = CapabilityConverter.class,
            description = "drop a capability from the default set, or ALL; repeatable")
    private List<String> capDrop = new ArrayList<>();
    @Option(names = "--gpus", paramLabel = "N|ADDR,…", description = "whole GPUs: a count (any free ones) or the"
            + " PCI addresses of the ones wanted, e.g. 0000:41:00.0,0000:c1:00.0 (vessel info lists them)")
    private String gpus;
    @Option(names = "--dns", paramLabel = "IP", description = "a name server for the container's /etc/resolv.conf"
            + " (default: the host's, less those on loopback); repeatable")
    private List<String> dnsServers = new ArrayList<>();
    @Option(names = "--dns-search", paramLabel = "DOMAIN", description = "a search domain of its resolv.conf;"
            + " repeatable")
    private List<String> dnsSearch = new ArrayList<>();
    @Option(names = "--dns-option", paramLabel = "OPT", description = "a resolver option of its resolv.conf (ndots:2);"
            + " repeatable")
    private List<String> dnsOptions = new ArrayList<>();
    @Option(names = "--add-host", paramLabel = "NAME:IP", description = "a line of its /etc/hosts; repeatable")
    private List<String> addHosts = new ArrayList<>();
    @Option(names = "--sysctl", paramLabel = "KEY=VALUE", description = "set a kernel parameter of the container's own"
            + " network or IPC namespace (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*); repeatable")
    private Map<String, String> sysctls = new LinkedHashMap<>();
    @Option(names = "--oom-score-adj", paramLabel = "N", description = "the task's OOM score adjustment, from -1000"
            + " (never chosen by the OOM killer) to 1000 (chosen first); its execs get it too")
    private Integer oomScoreAdj;
    @Option(names = "--pod", paramLabel = "POD", description = "run as a member of this pod: in its network, IPC and"
            + " UTS namespaces and under its limits (with its isolation)")
    private String pod;
    @Option(names = "--name", description = "the container's id (default: 12 random hex digits)")
    private String name;
    @Option(names = {"-d", "--detach"}, description = "print the id and return")
    private boolean detach;
    @Option(names = {"-i", "--interactive"}, description = "keep the task's stdin open: attached, what the CLI reads"
            + " goes to it (vessel attach joins it later)")
    private boolean interactive;
    @Mixin
    private DetachKeys detachKeys = new DetachKeys();
    @Option(names = {"-t", "--tty"}, description = "give the task a terminal; attached, the local one goes raw,"
            + " its size follows, the detach keys (--detach-keys) detach")
    private boolean tty;
    @Option(names = "--rm", description = "remove the container once it has ended")
    private boolean remove;
    @Option(names = "--rootfs", paramLabel = "DIR", description = "run on this host directory instead of an image")
    private Path rootfs;
    @Option(names = "--userns", paramLabel = "MODE", description = "user namespace: auto (its own, root mapped to"
            + " unprivileged host ids) or host; default: the daemon's --userns-default")
    private String userns;
    @Option(names = "--security-opt", paramLabel = "KEY=VALUE", description = "seccomp=FILE: the seccomp profile"
            + " (OCI linux.seccomp JSON) instead of the default one; seccomp=unconfined: no seccomp filter")
    private List<String> securityOptions = new ArrayList<>();
    @Option(names = "--init", description = "run a tiny init as the task's pid 1: it forwards signals (a task"
            + " without handlers then ends on SIGTERM) and reaps orphans")
    private boolean init;
    @Option(names = "--stop-signal", paramLabel = "SIGNAL", description = "the signal stop sends first: TERM,"
            + " SIGRTMIN+3, 15… (default: the image's StopSignal, else TERM)")
    private String stopSignal;
    @Option(names = "--stop-timeout", paramLabel = "SECONDS", description = "seconds stop waits before SIGKILL"
            + " (default 10)")
    private Integer stopTimeout;
    @Option(names = "--restart", paramLabel = "POLICY", converter = RestartConverter.class, description = "no (the"
            + " default), on-failure[:MAX] (any end but exit 0, at most MAX restarts in a row) or always; a stop or"
            + " kill is never restarted, and the policy holds across daemon restarts")
    private RestartPolicy restart;
    @Parameters(paramLabel = "IMAGE [CMD…]", description = "the image (left out with --rootfs), then the command")
    private List<String> words = new ArrayList<>();

    @Override
    public Integer call() throws IOException, InterruptedException {
        ObjectNode body = config();
        VesselClient client = vessel.client();
        namespaces.putInto(body, client);
        if (!detach && (interactive || tty)) {
            return attached(client, body);
        }
        String id = create(client, body, true).get("id").asText();
        if (detach) {
            vessel.out.println(id);
            return 0;
        }
        return foreground(client, id);
    }

    /**
     * As docker's {@code run -it}: the container is created, its stdio attached, and only then started, so
     * nothing it prints is missed; the CLI exits with its exit code (a detach leaves it running).
     */
    private int attached(VesselClient client, ObjectNode body) throws IOException, InterruptedException {
        String id = create(client, body, false).get("id").asText();
        String path = "/v1/containers/" + Paths.segment(id);
        SignalHandler previous = Signal.handle(new Signal("INT"), terminate(client, id));
        StdioSession.Result result;
        try {
            result = Attached.run(vessel, client.upgrade("POST", path + "/attach"), tty, interactive, detachKeys,
                    () -> started(client.call("POST", path + "/start", "")));
        } finally {
            Signal.handle(new Signal("INT"), previous);
        }
        if (result.end() == StdioSession.End.DETACHED) {
            return 0;
        }
        JsonNode termination = client.call("POST", path + "/wait", "");
        if (remove) {
            client.call("DELETE", path, null);
        }
        return result.end() == StdioSession.End.EXITED ? result.status() : exitCode(id, termination);
    }

    /** Ctrl-C where the terminal is not raw (it then reaches the CLI, not the task): SIGTERM to the task. */
    private SignalHandler terminate(VesselClient client, String id) {
        return signal -> {
            try {
                client.call("POST", "/v1/containers/" + Paths.segment(id) + "/kill?signal=" + SIGTERM, "");
            } catch (CliFailure e) {
                vessel.err.println("vessel: " + e.getMessage());
            }
        };
    }

    private ObjectNode config() {
        if (detach && remove) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--rm: not with -d (the daemon does not remove"
                    + " containers by itself yet); run `vessel rm ID` once it has ended");
        }
        ObjectNode body = CliJson.JSON.createObjectNode();
        if (name != null) {
            body.put("id", name);
        }
        if (vm) {
            body.put("isolation", "VM");
        }
        vmFlags.putInto(body, vm, spec);
        if (pod != null) {
            body.put("parent_id", pod);
        }
        if (userns != null) {
            body.put("userns", userns); // the daemon validates it, naming the field
        }
        if (tty) {
            body.put("tty", true);
        }
        if (interactive) {
            body.put("interactive", true);
        }
        lifecycle(body);
        List<String> command;
        if (rootfs != null) {
            body.put("host_rootfs", rootfs.toAbsolutePath().toString());
            command = words;
            if (command.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "CMD: --rootfs needs the command to run");
            }
        } else {
            if (words.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "IMAGE: missing (or give --rootfs DIR)");
            }
            body.put("image", words.getFirst());
            command = words.subList(1, words.size());
        }
        if (entrypoint != null) {
            List<String> program = entrypoint();
            if (program.isEmpty() && command.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--entrypoint: empty, and no command"
                        + " given: nothing to run");
            }
            // podman's rule: an entrypoint given drops the image's Cmd; the words are its arguments
            ArrayNode argv = body.putArray("command");
            program.forEach(argv::add);
            command.forEach(argv::add);
        } else {
            // like docker: on an image the words replace its Cmd and keep its Entrypoint; a bare rootfs has neither
            ArrayNode argv = body.putArray(rootfs != null ? "command" : "args");
            command.forEach(argv::add);
        }
        process(body);
        env(body);
        labels(body);
        resolver(body);
        healthFlags.putInto(body, spec);
        if (!sysctls.isEmpty()) {
            ObjectNode parameters = body.putObject("sysctls");
            sysctls.forEach(parameters::put); // the daemon validates them, naming each
        }
        securityOptions(body);
        if (limits.any() || gpus != null) {
            ObjectNode resources = body.putObject("resources");
            if (gpus != null) {
                GpuOption.putInto(resources, gpus, spec);
            }
            limits.putInto(resources, spec);
        }
        ArrayNode mounts = body.putArray("volumes");
        List<Mount> binds = new ArrayList<>(volumes);
        List<Tmpfs> scratch = new ArrayList<>(tmpfs);
        for (MountFlag.Parsed flag : mountFlags) {
            switch (flag) {
                case MountFlag.Volume v -> binds.add(v.mount());
                case MountFlag.Scratch t -> scratch.add(t.tmpfs());
            }
        }
        for (Mount m : binds) {
            ObjectNode volume = mounts.addObject().put("target", m.target()).put("read_only", m.readOnly());
            if (m.source().startsWith("/")) {
                volume.putObject("host_path").put("path", m.source());
            } else {
                volume.putObject("persistent").put("name", m.source());
            }
        }
        for (Tmpfs t : scratch) {
            mounts.addObject().put("target", t.target()).put("read_only", t.readOnly()).putObject("tmpfs")
                    .put("size_bytes", t.sizeBytes()).put("mode", t.mode()).put("noexec", t.noexec());
        }
        if (shmSize != null) {
            // the launch helper's own /dev/shm is 64 MiB; a volume there replaces it (mode 0: 1777, as /dev/shm's)
            if (scratch.stream().anyMatch(t -> t.target().equals(SHM)) || binds.stream().anyMatch(m -> m.target()
                    .equals(SHM))) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--shm-size: " + SHM + " is already a"
                        + " volume of this container");
            }
            mounts.addObject().put("target", SHM).putObject("tmpfs").put("size_bytes", shmSize).put("noexec", true);
        }
        if (readOnly) {
            body.put("read_only_rootfs", true);
        }
        if (!fetches.isEmpty()) {
            ArrayNode uris = body.putArray("uris");
            for (Fetch f : fetches) {
                ObjectNode uri = uris.addObject().put("uri", f.uri()).put("extract", f.extract())
                        .put("executable", f.executable());
                if (f.sha256() != null) {
                    uri.put("expected_digest", "sha256:" + f.sha256());
                }
            }
        }
        if (!capAdd.isEmpty() || !capDrop.isEmpty()) {
            ObjectNode caps = body.putObject("capabilities");
            ArrayNode add = caps.putArray("add");
            capAdd.forEach(add::add);
            ArrayNode drop = caps.putArray("drop");
            capDrop.forEach(drop::add);
        }
        if (!ports.isEmpty() && network == null) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--publish: needs --network NAME (a CNI network)");
        }
        if (network != null) {
            ArrayNode published = body.putArray("networks").addObject().put("network", network).putArray("ports");
            ports.forEach(p -> published.addObject().put("host_port", p.host()).put("container_port", p.container())
                    .put("protocol", p.protocol()));
        }
        return body;
    }

    /** --dns, --dns-search, --dns-option, --add-host: its resolv.conf and hosts (the daemon checks them). */
    private void resolver(ObjectNode body) {
        Map<String, List<String>> lists = Map.of("dns_servers", dnsServers, "dns_search", dnsSearch, "dns_options",
                dnsOptions);
        lists.forEach((field, values) -> {
            if (!values.isEmpty()) {
                values.forEach(body.putArray(field)::add);
            }
        });
        for (String entry : addHosts) {
            int colon = entry.indexOf(':');
            if (colon <= 0 || colon == entry.length() - 1) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--add-host: '" + entry
                        + "' must be NAME:IP");
            }
            (body.has("extra_hosts") ? (ArrayNode) body.get("extra_hosts") : body.putArray("extra_hosts")).addObject()
                    .put("hostname", entry.substring(0, colon)).put("ip", entry.substring(colon + 1));
        }
    }

    /** --workdir, --user, --group-add, --hostname, --ulimit, --device, --platform: what the task runs as and with. */
    private void process(ObjectNode body) {
        for (String group : groupAdd) {
            if (!group.matches("[0-9]+")) { // a name: the daemon checks it, the task's start looks it up
                (body.has("additional_groups") ? (ArrayNode) body.get("additional_groups")
                        : body.putArray("additional_groups")).add(group);
                continue;
            }
            if (group.length() > 10 || Long.parseLong(group) > 0xFFFF_FFFEL) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--group-add: '" + group + "' is not a"
                        + " gid (0 to 4294967294)");
            }
            (body.has("additional_gids") ? (ArrayNode) body.get("additional_gids") : body.putArray("additional_gids"))
                    .add(Long.parseLong(group));
        }
        if (workdir != null) {
            if (!workdir.startsWith("/")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--workdir: '" + workdir
                        + "' must be an absolute path");
            }
            body.put("working_dir", workdir);
        }
        if (user != null) {
            if (user.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--user: must not be empty");
            }
            body.put("user", user); // names are resolved in the container's /etc/passwd when it starts
        }
        if (hostname != null) {
            body.put("hostname", hostname); // the daemon validates it
        }
        if (oomScoreAdj != null) {
            body.put("oom_score_adj", oomScoreAdj); // and this
        }
        if (!uidMaps.isEmpty() || !gidMaps.isEmpty()) {
            // podman's rule: the gids are mapped as the uids when only --uidmap is given
            putMaps(body.putArray("uid_map"), uidMaps.isEmpty() ? gidMaps : uidMaps);
            putMaps(body.putArray("gid_map"), gidMaps.isEmpty() ? uidMaps : gidMaps);
        }
        if (!ulimits.isEmpty()) {
            ArrayNode rlimits = body.putArray("rlimits");
            ulimits.forEach(u -> rlimits.addObject().put("type", u.type()).put("soft", Long.toUnsignedString(u.soft()))
                    .put("hard", Long.toUnsignedString(u.hard())));
        }
        if (!devices.isEmpty()) {
            ArrayNode list = body.putArray("devices");
            for (String device : devices) {
                DeviceSpec d = device(device);
                list.addObject().put("host_path", d.host()).put("path", d.container()).put("permissions", d.permissions());
            }
        }
        if (platform != null && !platform.equals(nodePlatform())) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--platform: '" + platform + "' is not this"
                    + " node's platform (" + nodePlatform() + "); images for other platforms cannot run here");
        }
    }

    /** One --device: the host's node, its path in the container, the access the devices cgroup allows. */
    private record DeviceSpec(String host, String container, String permissions) {
    }

    /**
     * podman's spelling: HOST, HOST:CTR, HOST:PERMS (letters of rwm) or HOST:CTR:PERMS; CTR defaults to HOST,
     * PERMS to rwm. Whether HOST is a device node is the daemon's to check, on its host.
     */
    private DeviceSpec device(String value) {
        String[] parts = value.split(":", -1);
        String host = parts[0];
        String container = host;
        String permissions = "rwm";
        if (parts.length == 3) {
            container = parts[1];
            permissions = parts[2];
        } else if (parts.length == 2) {
            if (parts[1].matches("[rwm]+")) {
                permissions = parts[1];
            } else {
                container = parts[1];
            }
        } else if (parts.length > 3) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--device: '" + value
                    + "' must be HOST[:CONTAINER[:PERMISSIONS]]");
        }
        if (!host.startsWith("/") || !container.startsWith("/")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--device: '" + value
                    + "': the host's and the container's paths must be absolute");
        }
        if (!permissions.matches("(?!.*(.).*\\1)[rwm]+")) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--device: '" + permissions
                    + "' must be letters of rwm");
        }
        return new DeviceSpec(host, container, permissions);
    }

    private static void putMaps(ArrayNode to, List<IdMap> maps) {
        maps.forEach(m -> to.addObject().put("container_id", m.container()).put("host_id", m.host()).put("size", m.size()));
    }

    private static String nodePlatform() {
        return "linux/" + switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64" -> "arm64";
            default -> System.getProperty("os.arch");
        };
    }

    /** podman's --entrypoint: a JSON array of strings, or else one program. */
    private List<String> entrypoint() {
        if (!entrypoint.strip().startsWith("[")) {
            return entrypoint.isEmpty() ? List.of() : List.of(entrypoint);
        }
        List<String> words = new ArrayList<>();
        try {
            JsonNode array = CliJson.JSON.readTree(entrypoint);
            for (JsonNode word : array) {
                if (!word.isTextual()) {
                    throw new IOException("not a string: " + word);
                }
                words.add(word.asText());
            }
        } catch (IOException e) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--entrypoint: '" + entrypoint + "' is not a"
                    + " JSON array of strings");
        }
        return words;
    }

    /** --label-file then --label (a later key replaces an earlier one); KEY alone is an empty label. */
    private void labels(ObjectNode body) {
        java.util.Map<String, String> all = new java.util.LinkedHashMap<>();
        for (String file : labelFiles) {
            EnvFile.read("--label-file", file).forEach(e -> all.put(e.name(), e.value() == null ? "" : e.value()));
        }
        for (String label : labels) {
            int eq = label.indexOf('=');
            String key = eq < 0 ? label : label.substring(0, eq);
            if (key.isBlank()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--label: '" + label
                        + "' must be KEY=VALUE or KEY");
            }
            all.put(key, eq < 0 ? "" : label.substring(eq + 1));
        }
        if (!all.isEmpty()) {
            ObjectNode map = body.putObject("labels");
            all.forEach(map::put);
        }
    }

    /** --init, --stop-signal, --stop-timeout and --restart; the daemon validates the values, naming the field. */
    private void lifecycle(ObjectNode body) {
        if (init) {
            body.put("init", true);
        }
        if (stopSignal != null) {
            body.put("stop_signal", stopSignal);
        }
        if (stopTimeout != null) {
            body.put("stop_timeout_seconds", stopTimeout);
        }
        if (restart != null) {
            if (remove && !restart.policy().equals("no")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--restart: not with --rm (a container"
                        + " removed once it ends cannot be restarted)");
            }
            body.putObject("restart").put("policy", restart.policy()).put("max_retries", restart.maxRetries());
        }
    }

    /** --env-file first, then -e, as podman: a later name replaces an earlier one. */
    private void env(ObjectNode body) {
        java.util.Map<String, String> vars = new java.util.LinkedHashMap<>();
        for (String file : envFiles) {
            for (EnvFile.Entry e : EnvFile.read("--env-file", file)) {
                String value = e.value() != null ? e.value() : vessel.env.get(e.name());
                if (value != null) {
                    vars.put(e.name(), value);
                }
            }
        }
        for (String e : env) {
            int eq = e.indexOf('=');
            if (eq == 0 || e.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--env: '" + e + "' must be NAME=VALUE");
            }
            String value = eq > 0 ? e.substring(eq + 1) : vessel.env.get(e);
            if (value != null) { // docker's rule: NAME alone, unset on the host, is left out
                vars.put(eq > 0 ? e.substring(0, eq) : e, value);
            }
        }
        ArrayNode list = body.putArray("env");
        vars.forEach((name, value) -> list.addObject().put("name", name).put("value", value));
    }

    /** {@code --security-opt}s, as docker's: the profile file is read here, the daemon gets its text. */
    private void securityOptions(ObjectNode body) {
        for (String option : securityOptions) {
            int eq = option.indexOf('=');
            String key = eq < 0 ? option : option.substring(0, eq);
            if (!key.equals("seccomp")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--security-opt: unknown option '" + key
                        + "' (known: seccomp=FILE|unconfined)");
            }
            String value = option.substring(eq + 1);
            if (eq < 0 || value.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(),
                        "--security-opt: seccomp needs a value: seccomp=FILE or seccomp=unconfined");
            }
            if (body.has("seccomp")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--security-opt: seccomp given twice");
            }
            if (value.equals("unconfined")) {
                body.putObject("seccomp").put("unconfined", true);
                continue;
            }
            try {
                body.putObject("seccomp").put("profile_json", Files.readString(Path.of(value)));
            } catch (IOException | java.io.UncheckedIOException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--security-opt: cannot read seccomp profile '"
                        + value + "': " + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()));
            }
        }
    }

    /**
     * Creates the container, running or (not {@code start}) created and not yet started; the image is pulled
     * first as --pull says (by default only when the node lacks it, as podman run does). The id goes to the
     * --cidfile once the container exists.
     */
    private JsonNode create(VesselClient client, ObjectNode body, boolean start) {
        String path = start ? "/v1/containers" : "/v1/containers?start=false";
        CliFailure pullFailure = null;
        if (body.has("image") && (pull == PullPolicy.always || pull == PullPolicy.newer)) {
            try {
                pullImage(client, body.get("image").asText());
            } catch (CliFailure e) {
                if (pull == PullPolicy.always) {
                    throw e;
                }
                pullFailure = e; // newer: the node's copy, if it has one, will do
            }
        }
        if (cidfile != null && Files.exists(cidfile, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            throw new CliFailure("--cidfile: '" + cidfile + "' exists; is another container using it? Remove it first");
        }
        JsonNode created = tryCreate(client, path, body);
        if (created == null) {
            String image = body.get("image").asText();
            if (pullFailure != null) {
                throw pullFailure;
            }
            if (pull != PullPolicy.missing) {
                throw new CliFailure("--pull=" + pull + ": image '" + image + "' is not on this node");
            }
            if (!quiet) {
                vessel.err.println("Unable to find image '" + image + "' locally");
            }
            pullImage(client, image);
            created = tryCreate(client, path, body);
            if (created == null) {
                throw new CliFailure("image '" + image + "' is not on this node even after its pull");
            }
        }
        if (cidfile != null) {
            try {
                Files.writeString(cidfile, created.path("id").asText(), java.nio.file.StandardOpenOption.CREATE_NEW,
                        java.nio.file.StandardOpenOption.WRITE);
            } catch (IOException e) {
                throw new CliFailure("--cidfile: cannot write '" + cidfile + "': " + e.getMessage() + " (container "
                        + created.path("id").asText() + " was created)");
            }
        }
        return start ? started(created) : created;
    }

    /** The status of the container just started, its pid written to the --pidfile. */
    private JsonNode started(JsonNode status) {
        if (pidfile != null) {
            try {
                Files.writeString(pidfile, status.path("pid").asText() + "\n");
            } catch (IOException e) {
                throw new CliFailure("--pidfile: cannot write '" + pidfile + "': " + e.getMessage() + " (container "
                        + status.path("id").asText() + " runs)");
            }
        }
        return status;
    }

    /** The created container's status; null when the node lacks the image. */
    private JsonNode tryCreate(VesselClient client, String path, ObjectNode body) {
        try (VesselClient.Response r = client.send("POST", path, body.toString())) {
            String answer = r.text();
            if (r.status < 400) {
                return CliJson.JSON.readTree(answer);
            }
            String field = errorField(answer);
            if (r.status == 404 && body.has("image") && field.equals("image")) {
                return null;
            }
            String flag = flagOf(field);
            throw new CliFailure((flag == null ? "" : flag + ": ") + VesselClient.errorMessage(r.status, answer));
        } catch (IOException e) {
            throw new CliFailure("reading the answer of vesseld: " + e.getMessage());
        }
    }

    private static String errorField(String answer) {
        try {
            JsonNode error = CliJson.JSON.readTree(answer);
            return error.path("field").asText(error.path("error").path("field").asText(""));
        } catch (IOException e) {
            return ""; // not JSON: errorMessage quotes it
        }
    }

    /** The flag that set a config field the daemon refused, so that its error names what the user typed. */
    private static String flagOf(String field) {
        String top = field.replaceFirst("[.\\[].*", "");
        return switch (top) {
            case "working_dir" -> "--workdir";
            case "user" -> "--user";
            case "hostname" -> "--hostname";
            case "labels" -> "--label";
            case "rlimits" -> "--ulimit";
            case "stop_signal" -> "--stop-signal";
            case "stop_timeout_seconds" -> "--stop-timeout";
            case "userns" -> "--userns";
            case "uid_map" -> "--uidmap";
            case "gid_map" -> "--gidmap";
            case "oom_score_adj" -> "--oom-score-adj";
            case "sysctls" -> "--sysctl";
            case "dns_servers" -> "--dns";
            case "dns_search" -> "--dns-search";
            case "dns_options" -> "--dns-option";
            case "extra_hosts" -> "--add-host";
            case "health_check" -> "--health-*";
            case "namespace_paths" -> "--" + field.replaceFirst("^namespace_paths\\[(.*)]$", "$1");
            case "resources" -> switch (field) {
                case "resources.cpu_shares" -> "--cpu-shares";
                case "resources.memory_reservation_bytes" -> "--memory-reservation";
                case "resources.cpuset_cpus" -> "--cpuset-cpus";
                case "resources.cpuset_mems" -> "--cpuset-mems";
                default -> null;
            };
            default -> null;
        };
    }

    private void pullImage(VesselClient client, String image) {
        PrintStream progress = quiet ? new PrintStream(java.io.OutputStream.nullOutputStream()) : vessel.err;
        PullCommand.pull(client, image, AuthFile.forPull(image, null, null, vessel.env), progress, vessel.terminal && !quiet);
    }

    private int foreground(VesselClient client, String id) {
        List<Thread> followers = List.of(follow(client, id, "stdout", vessel.out), follow(client, id, "stderr", vessel.err));
        SignalHandler previous = Signal.handle(new Signal("INT"), terminate(client, id));
        JsonNode termination;
        try {
            termination = client.call("POST", "/v1/containers/" + id + "/wait", "");
            for (Thread follower : followers) {
                follower.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliFailure("interrupted while waiting for container " + id);
        } finally {
            Signal.handle(new Signal("INT"), previous);
        }
        if (remove) {
            client.call("DELETE", "/v1/containers/" + id, null);
        }
        return exitCode(id, termination);
    }

    /**
     * Copies one of the task's streams as it is written, until the container has ended. On a platform
     * thread: a virtual thread blocked on a socket leaves the JDK's I/O poller thread in native code,
     * and the JVM's exit then waits 300 ms for it.
     */
    private Thread follow(VesselClient client, String id, String stream, PrintStream to) {
        return Thread.ofPlatform().daemon().name("follow-" + stream).start(() -> {
            try (VesselClient.Response r = client.open("GET", "/v1/containers/" + id + "/logs?stream=" + stream
                    + "&follow=1", null)) {
                InputStream in = r.body;
                byte[] buffer = new byte[8192];
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    to.write(buffer, 0, n);
                    to.flush();
                }
            } catch (IOException | CliFailure e) {
                vessel.err.println("vessel: following the " + stream + " of " + id + ": " + e.getMessage());
            }
        });
    }

    /** The task's exit code, 128+N for signal N (the shell's convention); a task that never ran is a CLI failure. */
    static int exitCode(String id, JsonNode termination) {
        if (termination.has("exit_code")) {
            return termination.get("exit_code").asInt();
        }
        if (termination.has("signal")) {
            return 128 + termination.get("signal").asInt();
        }
        throw new CliFailure("container " + id + " " + termination.path("reason").asText("ended")
                + ": " + termination.path("message").asText("no exit status"));
    }

    static final class MountConverter implements ITypeConverter<Mount> {
        @Override
        public Mount convert(String spec) {
            String[] parts = spec.split(":", -1);
            if (parts.length < 2 || parts.length > 3 || parts[0].isEmpty() || parts[1].isEmpty()
                    || (parts.length == 3 && !parts[2].equals("ro") && !parts[2].equals("rw"))) {
                throw new TypeConversionException("'" + spec + "' must be SRC:DST or SRC:DST:ro");
            }
            if (!parts[1].startsWith("/")) {
                throw new TypeConversionException("'" + spec + "': the target '" + parts[1] + "' must be an absolute path");
            }
            return new Mount(parts[0], parts[1], parts.length == 3 && parts[2].equals("ro"));
        }
    }

    /** podman's capability names: with or without {@code CAP_}, any case, or {@code ALL}. */
    static final class CapabilityConverter implements ITypeConverter<String> {
        @Override
        public String convert(String name) {
            if (name.equalsIgnoreCase(Capability.ALL)) {
                return Capability.ALL;
            }
            return Capability.parse(name).map(Capability::name).orElseThrow(() -> new TypeConversionException(
                    "'" + name + "' is not a Linux capability (e.g. NET_ADMIN, CAP_NET_ADMIN or ALL)"));
        }
    }

    /** {@code DST[:OPTS]}, the options podman's {@code --tmpfs} takes that mean something here. */
    static final class FetchConverter implements ITypeConverter<Fetch> {
        @Override
        public Fetch convert(String spec) {
            String[] parts = spec.split(",", -1);
            String uri = parts[0];
            if (uri.isEmpty()) {
                throw new TypeConversionException("'" + spec + "': the URI is missing");
            }
            if (uri.startsWith("/")) {
                uri = Path.of(uri).toUri().toString();
            }
            boolean extract = false;
            boolean executable = false;
            String sha256 = null;
            for (int i = 1; i < parts.length; i++) {
                String option = parts[i];
                if (option.startsWith("sha256=")) {
                    sha256 = option.substring("sha256=".length());
                    if (!sha256.matches("[0-9a-f]{64}")) {
                        throw new TypeConversionException("'" + spec + "': sha256 must be 64 lower-case hex digits");
                    }
                } else {
                    switch (option) {
                        case "extract" -> extract = true;
                        case "executable" -> executable = true;
                        default -> throw new TypeConversionException("'" + spec + "': unknown option '" + option
                                + "' (known: extract, executable, sha256=HEX)");
                    }
                }
            }
            return new Fetch(uri, extract, executable, sha256);
        }
    }

    static final class TmpfsConverter implements ITypeConverter<Tmpfs> {
        @Override
        public Tmpfs convert(String spec) {
            int colon = spec.indexOf(':');
            String target = colon < 0 ? spec : spec.substring(0, colon);
            if (!target.startsWith("/")) {
                throw new TypeConversionException("'" + spec + "': the target '" + target + "' must be an absolute path");
            }
            long size = 0;
            int mode = 0;
            boolean readOnly = false;
            boolean noexec = true; // podman's default options: rw,noexec,nosuid,nodev
            for (String option : colon < 0 ? new String[0] : spec.substring(colon + 1).split(",", -1)) {
                if (option.startsWith("size=")) {
                    size = Sizes.parse(option.substring("size=".length()));
                } else if (option.startsWith("mode=")) {
                    mode = mode(spec, option.substring("mode=".length()));
                } else {
                    switch (option) {
                        case "ro" -> readOnly = true;
                        case "rw" -> readOnly = false;
                        case "noexec" -> noexec = true;
                        case "exec" -> noexec = false;
                        case "nosuid", "nodev" -> { } // always
                        case "suid", "dev" -> throw new TypeConversionException("'" + spec + "': a tmpfs is always"
                                + " nosuid and nodev, '" + option + "' cannot be given");
                        default -> throw new TypeConversionException("'" + spec + "': unknown tmpfs option '" + option
                                + "' (known: size=SIZE, mode=OCTAL, ro, rw, noexec, exec, nosuid, nodev)");
                    }
                }
            }
            return new Tmpfs(target, size, mode, readOnly, noexec);
        }

        static int mode(String spec, String octal) {
            try {
                int mode = Integer.parseInt(octal, 8);
                if (mode >= 0 && mode <= 07777) {
                    return mode;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new TypeConversionException("'" + spec + "': mode '" + octal + "' is not octal permission bits"
                    + " (0 to 7777)");
        }
    }

    /** {@code no}, {@code always}, {@code on-failure} or {@code on-failure:N}, as docker's. */
    static final class RestartConverter implements ITypeConverter<RestartPolicy> {
        @Override
        public RestartPolicy convert(String value) {
            int colon = value.indexOf(':');
            String policy = colon < 0 ? value : value.substring(0, colon);
            if (colon < 0) {
                return new RestartPolicy(policy, 0);
            }
            if (!policy.equals("on-failure")) {
                throw new TypeConversionException("'" + value + "': only on-failure takes a count (on-failure:N)");
            }
            try {
                return new RestartPolicy(policy, Integer.parseInt(value.substring(colon + 1)));
            } catch (NumberFormatException e) {
                throw new TypeConversionException("'" + value + "': the count after on-failure: must be a number");
            }
        }
    }

    /** podman's {@code CONTAINER:HOST:SIZE}, three unsigned 32-bit numbers; the daemon checks the ranges. */
    static final class IdMapConverter implements ITypeConverter<IdMap> {
        @Override
        public IdMap convert(String spec) {
            String[] parts = spec.split(":", -1);
            if (parts.length != 3) {
                throw new TypeConversionException("'" + spec + "' must be CONTAINER_ID:HOST_ID:SIZE, e.g. 0:100000:65536");
            }
            long[] values = new long[3];
            for (int i = 0; i < 3; i++) {
                try {
                    values[i] = Long.parseLong(parts[i]);
                } catch (NumberFormatException e) {
                    values[i] = -1;
                }
                if (values[i] < 0 || values[i] > 0xffffffffL) {
                    throw new TypeConversionException("'" + spec + "': '" + parts[i] + "' is not an id (0 to 4294967295)");
                }
            }
            return new IdMap(values[0], values[1], values[2]);
        }
    }

    /** podman's {@code --ulimit TYPE=SOFT[:HARD]}: one number sets both; -1 is unlimited. */
    static final class UlimitConverter implements ITypeConverter<Ulimit> {
        @Override
        public Ulimit convert(String spec) {
            int eq = spec.indexOf('=');
            if (eq <= 0) {
                throw new TypeConversionException("'" + spec + "' must be TYPE=SOFT[:HARD], e.g. nofile=1024:2048");
            }
            String name = spec.substring(0, eq);
            var type = dev.vessel.linux.RlimitType.parse(name).orElseThrow(() -> new TypeConversionException("'"
                    + spec + "': '" + name + "' is not a resource limit (nofile, nproc, core, memlock, stack…)"));
            String[] values = spec.substring(eq + 1).split(":", -1);
            if (values.length > 2) {
                throw new TypeConversionException("'" + spec + "' must be TYPE=SOFT[:HARD]");
            }
            long soft = limit(spec, values[0]);
            long hard = values.length == 2 ? limit(spec, values[1]) : soft;
            if (Long.compareUnsigned(soft, hard) > 0) {
                throw new TypeConversionException("'" + spec + "': the soft limit exceeds the hard one");
            }
            return new Ulimit(type.name(), soft, hard);
        }

        /** A limit; -1 is RLIM_INFINITY (all ones, as an unsigned 64-bit number). */
        private static long limit(String spec, String text) {
            if (text.equals("-1")) {
                return -1L;
            }
            try {
                long value = Long.parseLong(text);
                if (value >= 0) {
                    return value;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new TypeConversionException("'" + spec + "': '" + text + "' is not a limit (a number, or -1 for"
                    + " unlimited)");
        }
    }

    static final class PortConverter implements ITypeConverter<Port> {
        @Override
        public Port convert(String spec) {
            String[] protocol = spec.split("/", 2);
            String[] ports = protocol[0].split(":", -1);
            String proto = protocol.length == 2 ? protocol[1] : "tcp";
            if (ports.length != 2 || !(proto.equals("tcp") || proto.equals("udp"))) {
                throw new TypeConversionException("'" + spec + "' must be HOST:CTR, HOST:CTR/tcp or HOST:CTR/udp");
            }
            return new Port(port(spec, ports[0]), port(spec, ports[1]), proto);
        }

        private static int port(String spec, String text) {
            try {
                int port = Integer.parseInt(text);
                if (port >= 1 && port <= 65535) {
                    return port;
                }
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new TypeConversionException("'" + spec + "': '" + text + "' is not a port (1-65535)");
        }
    }
}
