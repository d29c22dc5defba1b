package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.linux.RawTerminal;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code vessel vm}: long-lived VMs booted from cloud images ({@code /v1/vms}). */
@Command(name = "vm", mixinStandardHelpOptions = true, description = "Manage long-lived VMs booted from cloud images.",
        subcommands = {VmCommand.Create.class, VmCommand.Update.class, VmCommand.Start.class, VmCommand.Stop.class,
                VmCommand.Reboot.class, VmCommand.Rm.class, VmCommand.Ls.class, VmCommand.Inspect.class,
                VmCommand.Logs.class, VmCommand.Console.class, VmCommand.Snapshot.class, VmCommand.Restore.class,
                VmCommand.Image.class})
final class VmCommand implements Runnable {
    @ParentCommand
    Vessel vessel;
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a subcommand: create, update, start, stop,"
                + " reboot, rm, ls, inspect, logs, console, snapshot, restore or image");
    }

    private static String path(String name) {
        return "/v1/vms/" + Paths.segment(name);
    }

    /** One call per named VM ({@code path} from its resource path), each name printed once done. */
    private int each(List<String> names, String method, java.util.function.UnaryOperator<String> path) {
        for (String name : names) {
            vessel.client().call(method, path.apply(path(name)), method.equals("DELETE") ? null : "");
            vessel.out.println(name);
        }
        return 0;
    }

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a VM from a cloud image and boot it.")
    static final class Create implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Spec
        private CommandLine.Model.CommandSpec spec;
        @Parameters(paramLabel = "NAME")
        private String name;
        @Option(names = "--image", required = true, paramLabel = "FILE|URL",
                description = "the base disk image (never written): a file, or an http(s) URL fetched once into the node's store")
        private String image;
        @Option(names = "--image-digest", paramLabel = "sha256:HEX", description = "the digest a URL's image must have")
        private String imageDigest;
        @Option(names = "--image-format", paramLabel = "FORMAT", description = "qcow2 (the default) or raw: never guessed")
        private String imageFormat;
        @Option(names = "--cpus", paramLabel = "N", description = "vCPUs (default 1)")
        private Integer cpus;
        @Option(names = "--cpu-shares", paramLabel = "N", description = "its CPU weight on the host against other VMs"
                + " (2-262144; default 1024)")
        private Long cpuShares;
        @Option(names = "--cpu-limit", paramLabel = "N", description = "the host CPU time it may use, all its vCPUs"
                + " together, in CPUs: 0.5 (default: no limit)")
        private Double cpuLimit;
        @Option(names = {"-m", "--memory"}, paramLabel = "SIZE", converter = Sizes.class, description = "guest memory: 512m, 2g…")
        private Long memory;
        @Option(names = "--disk-size", paramLabel = "SIZE", converter = Sizes.class, description = "grow the VM's disk to this")
        private Long diskSize;
        @Option(names = "--user-data", paramLabel = "FILE", description = "cloud-init user-data")
        private Path userData;
        @Option(names = "--ssh-key", paramLabel = "FILE", description = "authorized keys for the image's default user")
        private List<Path> sshKeys = new ArrayList<>();
        @Option(names = "--hostname", paramLabel = "NAME", description = "the guest's host name (default: the VM's name)")
        private String hostname;
        @Option(names = "--network", paramLabel = "NAME", description = "a CNI network; the guest gets CNI's address")
        private List<String> networks = new ArrayList<>();
        @Option(names = {"-p", "--publish"}, paramLabel = "HOST:GUEST[/udp]", converter = RunCommand.PortConverter.class,
                description = "publish a guest port (on the first --network)")
        private List<RunCommand.Port> ports = new ArrayList<>();
        @Option(names = "--gpus", paramLabel = "N|ADDR,…", description = "whole GPUs passed through with their IOMMU"
                + " groups (VFIO): a count or PCI addresses (vessel info lists them)")
        private String gpus;
        @Option(names = "--disk", paramLabel = "FILE[,ro][,format=raw|qcow2]", converter = VmFlags.DiskConverter.class,
                description = "a further disk: an image (never probed: raw unless format=qcow2) or a block device")
        private List<VmFlags.Disk> disks = new ArrayList<>();

        @Override
        public Integer call() throws IOException {
            ObjectNode body = CliJson.JSON.createObjectNode().put("name", name)
                    .put("image", image.contains("://") ? image : Path.of(image).toAbsolutePath().toString());
            if (imageDigest != null) {
                body.put("image_digest", imageDigest);
            }
            if (imageFormat != null) {
                body.put("image_format", imageFormat);
            }
            if (cpus != null) {
                body.put("vcpus", cpus);
            }
            if (cpuShares != null) {
                body.put("cpu_shares", cpuShares);
            }
            if (cpuLimit != null) {
                body.put("cpu_limit", cpuLimit);
            }
            if (memory != null) {
                body.put("memory_bytes", memory);
            }
            if (diskSize != null) {
                body.put("disk_size_bytes", diskSize);
            }
            if (hostname != null) {
                body.put("hostname", hostname);
            }
            if (gpus != null) {
                GpuOption.putInto(body, gpus, spec);
            }
            if (userData != null) {
                body.put("user_data", read("--user-data", userData));
            }
            ArrayNode keys = body.putArray("ssh_authorized_keys");
            for (Path file : sshKeys) {
                read("--ssh-key", file).lines().map(String::strip)
                        .filter(l -> !l.isEmpty() && !l.startsWith("#")).forEach(keys::add);
            }
            if (!ports.isEmpty() && networks.isEmpty()) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--publish: needs --network NAME (a CNI network)");
            }
            ArrayNode attached = body.putArray("networks");
            for (int i = 0; i < networks.size(); i++) {
                ObjectNode n = attached.addObject().put("network", networks.get(i));
                if (i == 0) {
                    ArrayNode published = n.putArray("ports");
                    ports.forEach(p -> published.addObject().put("host_port", p.host())
                            .put("container_port", p.container()).put("protocol", p.protocol()));
                }
            }
            ArrayNode attachedDisks = body.putArray("disks");
            for (VmFlags.Disk disk : disks) {
                if (disk.target() != null || disk.fsType() != null) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--disk: a full VM mounts its disks"
                            + " itself: give no target or fs");
                }
                disk.putInto(attachedDisks);
            }
            JsonNode created = vm.vessel.client().call("POST", "/v1/vms", body.toString());
            vm.vessel.out.println(created.path("name").asText());
            return 0;
        }

        private String read(String option, Path file) {
            try {
                return Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new CommandLine.ParameterException(spec.commandLine(), option + ": cannot read " + file + ": "
                        + e.getMessage());
            }
        }
    }

    @Command(name = "update", mixinStandardHelpOptions = true,
            description = "Change VMs' CPU weight or limit: kept for every boot, applied to a running one at once.")
    static final class Update implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Spec
        private CommandLine.Model.CommandSpec spec;
        @Option(names = "--cpu-shares", paramLabel = "N",
                description = "its CPU weight on the host against other VMs (2-262144; 0: the default, 1024)")
        private Long cpuShares;
        @Option(names = "--cpu-limit", paramLabel = "N",
                description = "the host CPU time it may use, all its vCPUs together, in CPUs (0: no limit)")
        private Double cpuLimit;
        @Parameters(paramLabel = "NAME", arity = "1..*")
        private List<String> names;

        @Override
        public Integer call() {
            if (cpuShares == null && cpuLimit == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "give --cpu-shares, --cpu-limit or both");
            }
            ObjectNode update = CliJson.JSON.createObjectNode();
            if (cpuShares != null) {
                update.put("cpu_shares", cpuShares);
            }
            if (cpuLimit != null) {
                update.put("cpu_limit", cpuLimit);
            }
            String body = update.toString();
            for (String name : names) {
                vm.vessel.client().call("POST", path(name) + "/update", body);
                vm.vessel.out.println(name);
            }
            return 0;
        }
    }

    @Command(name = "start", mixinStandardHelpOptions = true, description = "Boot stopped VMs again from their disks.")
    static final class Start implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Parameters(paramLabel = "NAME", arity = "1..*")
        private List<String> names;

        @Override
        public Integer call() {
            return vm.each(names, "POST", p -> p + "/start");
        }
    }

    /** How an orderly stop goes: {@code stop} and {@code reboot} take the same. */
    static final class StopOptions {
        @Option(names = {"-f", "--force"}, description = "power off at once")
        private boolean force;
        @Option(names = {"-t", "--timeout"}, paramLabel = "SECONDS", description = "how long a guest may take to shut"
                + " down (default 60)")
        private Long timeout;

        String query() {
            return "?force=" + (force ? 1 : 0) + (timeout == null ? "" : "&timeout=" + timeout);
        }
    }

    @Command(name = "stop", mixinStandardHelpOptions = true,
            description = "Shut VMs down (ACPI), powering them off after the timeout; their disks stay.")
    static final class Stop implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Mixin
        private StopOptions options;
        @Parameters(paramLabel = "NAME", arity = "1..*")
        private List<String> names;

        @Override
        public Integer call() {
            return vm.each(names, "POST", p -> p + "/stop" + options.query());
        }
    }

    @Command(name = "reboot", mixinStandardHelpOptions = true,
            description = "Shut VMs down as stop does (-f: a hard reboot), then boot them again from their disks.")
    static final class Reboot implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Mixin
        private StopOptions options;
        @Parameters(paramLabel = "NAME", arity = "1..*")
        private List<String> names;

        @Override
        public Integer call() {
            return vm.each(names, "POST", p -> p + "/reboot" + options.query());
        }
    }

    @Command(name = "rm", mixinStandardHelpOptions = true, description = "Remove VMs and their disks.")
    static final class Rm implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Option(names = {"-f", "--force"}, description = "remove a running VM too")
        private boolean force;
        @Parameters(paramLabel = "NAME", arity = "1..*")
        private List<String> names;

        @Override
        public Integer call() {
            return vm.each(names, "DELETE", p -> p + (force ? "?force=1" : ""));
        }
    }

    @Command(name = "ls", mixinStandardHelpOptions = true, description = "List VMs.")
    static final class Ls implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Option(names = "--json", description = "print the daemon's JSON")
        private boolean json;

        @Override
        public Integer call() {
            JsonNode all = vm.vessel.client().call("GET", "/v1/vms", null);
            if (json) {
                vm.vessel.out.println(all);
                return 0;
            }
            Table table = new Table("NAME", "STATE", "IP", "IMAGE");
            for (JsonNode m : all.path("vms")) {
                List<String> ips = new ArrayList<>();
                m.path("ip_addresses").forEach(ip -> ips.add(ip.asText()));
                table.row(m.path("name").asText(), m.path("state").asText(), String.join(",", ips),
                        m.path("request").path("image").asText());
            }
            table.print(vm.vessel.out);
            return 0;
        }
    }

    @Command(name = "inspect", mixinStandardHelpOptions = true,
            description = "Show a VM: state, IPs, disks and snapshots, console log (pretty JSON, as inspect does).")
    static final class Inspect implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Option(names = "--json", description = "one compact JSON document, for scripts")
        private boolean json;
        @Parameters(paramLabel = "NAME")
        private String name;

        @Override
        public Integer call() throws IOException {
            CliJson.print(vm.vessel.out, vm.vessel.client().call("GET", path(name), null), json);
            return 0;
        }
    }

    @Command(name = "logs", mixinStandardHelpOptions = true, description = "Print what a VM's serial console printed"
            + " during its current or last boot; -f follows it until that boot ends.")
    static final class Logs implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Option(names = {"-f", "--follow"}, description = "keep printing until the VM stops")
        private boolean follow;
        @Parameters(paramLabel = "NAME")
        private String name;

        @Override
        public Integer call() throws IOException {
            try (VesselClient.Response r = vm.vessel.client().open("GET", path(name) + "/logs"
                    + (follow ? "?follow=1" : ""), null)) {
                byte[] buf = new byte[16 * 1024];
                for (int n; (n = r.body.read(buf)) > 0; ) {
                    vm.vessel.out.write(buf, 0, n);
                    vm.vessel.out.flush();
                }
            }
            return 0;
        }
    }

    @Command(name = "console", mixinStandardHelpOptions = true,
            description = "Attach to a running VM's serial console; Ctrl-] detaches and leaves the VM running.")
    static final class Console implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Parameters(paramLabel = "NAME")
        private String name;

        @Override
        public Integer call() throws Exception {
            Vessel vessel = vm.vessel;
            try (VesselClient.Upgraded session = vessel.client().upgrade("POST", path(name) + "/console")) {
                vessel.err.println("Connected to the console of " + name + "; Ctrl-] detaches.");
                boolean raw = vessel.terminal && RawTerminal.isTerminal(RawTerminal.STDIN);
                ConsoleAttach.End end = ConsoleAttach.run(session, vessel.in, vessel.out, raw);
                vessel.err.println(end == ConsoleAttach.End.DETACHED ? "\r\nDetached from the console of " + name + "."
                        : "\r\nThe console of " + name + " closed: the VM stopped.");
            }
            return 0;
        }
    }

    @Command(name = "snapshot", mixinStandardHelpOptions = true,
            description = "Take a snapshot of a VM's disk, running or stopped (kept inside the disk), with --memory of "
                    + "a running VM's memory too; list or delete them.")
    static final class Snapshot implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Spec
        private CommandLine.Model.CommandSpec spec;
        @Option(names = {"-l", "--list"}, description = "list the VM's snapshots")
        private boolean list;
        @Option(names = {"-d", "--delete"}, description = "delete the snapshot (the disk stays as it is)")
        private boolean delete;
        @Option(names = "--json", description = "with --list: print the daemon's JSON")
        private boolean json;
        @Option(names = "--memory", description = "save the running VM's memory too (it pauses meanwhile): restoring "
                + "it puts the running VM back as it was")
        private boolean memory;
        @Parameters(index = "0", paramLabel = "NAME")
        private String name;
        @Parameters(index = "1", arity = "0..1", paramLabel = "SNAPSHOT")
        private String snapshot;

        @Override
        public Integer call() {
            if (list) {
                if (delete || memory || snapshot != null) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "--list takes the VM's name alone");
                }
                return list();
            }
            if (delete && memory) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--memory is for taking a snapshot");
            }
            if (snapshot == null) {
                throw new CommandLine.ParameterException(spec.commandLine(), "give the snapshot's name: vessel vm snapshot"
                        + (delete ? " --delete" : "") + " NAME SNAPSHOT");
            }
            if (delete) {
                vm.vessel.client().call("DELETE", path(name) + "/snapshots/" + Paths.segment(snapshot), null);
            } else {
                vm.vessel.client().call("POST", path(name) + "/snapshots",
                        CliJson.JSON.createObjectNode().put("name", snapshot).put("memory", memory).toString());
            }
            vm.vessel.out.println(snapshot);
            return 0;
        }

        private int list() {
            JsonNode all = vm.vessel.client().call("GET", path(name) + "/snapshots", null);
            if (json) {
                vm.vessel.out.println(all);
                return 0;
            }
            Table table = new Table("SNAPSHOT", "CREATED", "VM STATE");
            for (JsonNode s : all.path("snapshots")) {
                table.row(s.path("name").asText(), s.path("created").asText(), s.path("vm_state_bytes").asText() + " B");
            }
            table.print(vm.vessel.out);
            return 0;
        }
    }

    @Command(name = "restore", mixinStandardHelpOptions = true,
            description = "Put a stopped VM's disk back to a snapshot; a snapshot taken with --memory puts the VM back "
                    + "as a whole, running from that moment (a stopped VM is started); what it held since is lost.")
    static final class Restore implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Parameters(index = "0", paramLabel = "NAME")
        private String name;
        @Parameters(index = "1", paramLabel = "SNAPSHOT")
        private String snapshot;

        @Override
        public Integer call() {
            vm.vessel.client().call("POST", path(name) + "/snapshots/" + Paths.segment(snapshot) + "/restore", "");
            vm.vessel.out.println(snapshot);
            return 0;
        }
    }

    @Command(name = "image", mixinStandardHelpOptions = true,
            description = "Write a VM's disk, base image included, as a new standalone image (the VM may run).")
    static final class Image implements Callable<Integer> {
        @ParentCommand
        private VmCommand vm;
        @Option(names = "--format", paramLabel = "FORMAT", description = "qcow2 (the default) or raw")
        private String format;
        @Parameters(index = "0", paramLabel = "NAME")
        private String name;
        @Parameters(index = "1", paramLabel = "FILE", description = "the new image, on the daemon's host; must not exist")
        private Path file;

        @Override
        public Integer call() {
            ObjectNode body = CliJson.JSON.createObjectNode().put("path", file.toAbsolutePath().toString());
            if (format != null) {
                body.put("format", format);
            }
            JsonNode image = vm.vessel.client().call("POST", path(name) + "/image", body.toString());
            vm.vessel.out.println(image.path("path").asText());
            return 0;
        }
    }
}
