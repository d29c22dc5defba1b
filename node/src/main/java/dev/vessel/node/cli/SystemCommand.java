package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** {@code vessel system}: what the node takes on disk ({@code df}) and giving it back ({@code prune}). */
@Command(name = "system", mixinStandardHelpOptions = true, description = "The node's disk: df shows it, prune frees it.",
        subcommands = {SystemCommand.Df.class, SystemCommand.Prune.class})
final class SystemCommand implements Runnable {
    @ParentCommand
    Vessel vessel;
    @Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "give a subcommand: df or prune");
    }

    @Command(name = "df", mixinStandardHelpOptions = true, description = "Show what images, the image store,"
            + " containers, volumes and VMs' disks take on disk.")
    static final class Df implements Callable<Integer> {
        @ParentCommand
        private SystemCommand system;
        @Option(names = {"-v", "--verbose"}, description = "each image, container, volume and VM disk")
        private boolean verbose;
        @Option(names = "--format", paramLabel = "json", description = "json: the daemon's JSON")
        private String format;

        @Override
        public Integer call() {
            if (format != null && !format.equals("json")) {
                throw new CliFailure("--format: '" + format + "' is not a format this command knows (json)");
            }
            JsonNode df = system.vessel.client().call("GET", "/v1/system/df", null);
            if (format != null) {
                system.vessel.out.println(df);
                return 0;
            }
            JsonNode store = df.path("store");
            int imagesActive = 0;
            for (JsonNode image : df.path("images")) {
                imagesActive += image.path("in_use").asBoolean() ? 1 : 0;
            }
            long containersSize = 0;
            long containersReclaimable = 0;
            int containersActive = 0;
            for (JsonNode c : df.path("containers")) {
                containersSize += c.path("size_bytes").asLong();
                if (c.path("reclaimable").asBoolean()) {
                    containersReclaimable += c.path("size_bytes").asLong();
                } else {
                    containersActive++;
                }
            }
            Table table = new Table("TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");
            table.row("Images", Integer.toString(df.path("images").size()), Integer.toString(imagesActive),
                    PullCommand.bytes(store.path("size_bytes").asLong()),
                    share(store.path("reclaimable_bytes").asLong(), store.path("size_bytes").asLong()));
            table.row("Containers", Integer.toString(df.path("containers").size()), Integer.toString(containersActive),
                    PullCommand.bytes(containersSize), share(containersReclaimable, containersSize));
            int volumesActive = 0;
            long volumesReclaimable = 0;
            for (JsonNode v : df.path("volumes")) {
                if (v.path("in_use").asBoolean()) {
                    volumesActive++;
                } else {
                    volumesReclaimable += v.path("size_bytes").asLong();
                }
            }
            long volumesSize = sum(df.path("volumes"));
            table.row("Local Volumes", Integer.toString(df.path("volumes").size()), Integer.toString(volumesActive),
                    PullCommand.bytes(volumesSize), share(volumesReclaimable, volumesSize));
            table.row("VM disks", Integer.toString(df.path("vm_disks").size()), "-",
                    PullCommand.bytes(sum(df.path("vm_disks"))), "-");
            table.print(system.vessel.out);
            if (verbose) {
                verbose(df);
            }
            return 0;
        }

        private void verbose(JsonNode df) {
            JsonNode store = df.path("store");
            system.vessel.out.println("\nImage store: " + store.path("blobs").asInt() + " blobs ("
                    + PullCommand.bytes(store.path("blob_bytes").asLong()) + "), " + store.path("layers").asInt()
                    + " unpacked layers (" + PullCommand.bytes(store.path("layer_bytes").asLong()) + ")");
            system.vessel.out.println("\nImages space usage:\n");
            Table images = new Table("REFERENCE", "DIGEST", "SIZE", "IN USE");
            for (JsonNode i : df.path("images")) {
                String digest = i.path("manifest_digest").asText();
                images.row(i.path("reference").asText(), digest.length() > 19 ? digest.substring(0, 19) : digest,
                        PullCommand.bytes(i.path("size_bytes").asLong()), i.path("in_use").asBoolean() ? "yes" : "no");
            }
            images.print(system.vessel.out);
            system.vessel.out.println("\nContainers space usage:\n");
            Table containers = new Table("ID", "STATE", "ROOTFS", "RUN DIR", "SIZE");
            for (JsonNode c : df.path("containers")) {
                containers.row(c.path("id").asText(), c.path("state").asText(),
                        PullCommand.bytes(c.path("rootfs_bytes").asLong()), PullCommand.bytes(c.path("run_dir_bytes").asLong()),
                        PullCommand.bytes(c.path("size_bytes").asLong()));
            }
            containers.print(system.vessel.out);
            system.vessel.out.println("\nLocal Volumes space usage:\n");
            Table volumes = new Table("VOLUME NAME", "SIZE", "IN USE");
            df.path("volumes").forEach(v -> volumes.row(v.path("name").asText(), PullCommand.bytes(v.path("size_bytes").asLong()),
                    v.path("in_use").asBoolean() ? "yes" : "no"));
            volumes.print(system.vessel.out);
            system.vessel.out.println("\nVM disks space usage:\n");
            Table disks = new Table("VM", "SIZE");
            df.path("vm_disks").forEach(v -> disks.row(v.path("vm").asText(), PullCommand.bytes(v.path("size_bytes").asLong())));
            disks.print(system.vessel.out);
        }

        private static long sum(JsonNode list) {
            long total = 0;
            for (JsonNode entry : list) {
                total += entry.path("size_bytes").asLong();
            }
            return total;
        }

        private static String share(long part, long whole) {
            return PullCommand.bytes(part) + String.format(Locale.ROOT, " (%d%%)", whole > 0 ? Math.round(part * 100.0 / whole) : 0);
        }
    }

    /**
     * Removes every ended container (not pods: {@code vessel pod rm}), with {@code --all} every image no container
     * uses, then the blobs and layers nothing references ({@code /v1/images/gc}).
     */
    @Command(name = "prune", mixinStandardHelpOptions = true, description = "Remove ended containers, with --all every"
            + " image no container uses, and the blobs and layers no image uses.")
    static final class Prune implements Callable<Integer> {
        @ParentCommand
        private SystemCommand system;
        @Option(names = {"-f", "--force"}, description = "do not ask for confirmation")
        private boolean force;
        @Option(names = {"-a", "--all"}, description = "also remove every image no container uses")
        private boolean all;

        @Override
        public Integer call() throws IOException {
            Vessel vessel = system.vessel;
            if (!force && !confirmed(vessel)) {
                return 0;
            }
            VesselClient client = vessel.client();
            List<String> containers = new ArrayList<>();
            for (JsonNode c : client.call("GET", "/v1/containers", null).get("containers")) {
                if (c.path("state").asText().equals("TERMINATED") && !c.path("pod").asBoolean()
                        && c.path("parent_id").asText("").isEmpty()) {
                    String id = c.path("id").asText();
                    try (VesselClient.Response r = client.send("DELETE", "/v1/containers/" + Paths.segment(id), null)) {
                        if (r.status < 300) {
                            containers.add(id);
                        } else if (r.status != 404 && r.status != 409) { // removed or started again meanwhile
                            throw new CliFailure(VesselClient.errorMessage(r.status, r.text()));
                        }
                    }
                }
            }
            List<String> images = new ArrayList<>();
            if (all) {
                for (JsonNode image : client.call("GET", "/v1/images", null).get("images")) {
                    String reference = image.path("reference").asText();
                    try (VesselClient.Response r = client.send("DELETE", "/v1/images/" + Paths.segment(reference), null)) {
                        if (r.status < 300) {
                            images.add(reference);
                        } else if (r.status != 409) { // 409: a container uses it, so it stays
                            throw new CliFailure(VesselClient.errorMessage(r.status, r.text()));
                        }
                    }
                }
            }
            JsonNode gc = client.call("POST", "/v1/images/gc", "");
            if (!containers.isEmpty()) {
                vessel.out.println("Deleted Containers");
                containers.forEach(vessel.out::println);
            }
            if (!images.isEmpty()) {
                vessel.out.println("Deleted Images");
                images.forEach(vessel.out::println);
            }
            vessel.out.println("Total reclaimed space: " + PullCommand.bytes(gc.path("bytes_freed").asLong())
                    + " (" + gc.path("blobs_removed").asLong() + " blobs, " + gc.path("layers_removed").asLong() + " layers)");
            return 0;
        }

        private boolean confirmed(Vessel vessel) throws IOException {
            vessel.out.println("WARNING! This will remove:\n  - all stopped containers"
                    + (all ? "\n  - all images no container uses" : "") + "\n  - the blobs and layers no image uses");
            vessel.out.print("Are you sure you want to continue? [y/N] ");
            vessel.out.flush();
            String answer = new BufferedReader(new InputStreamReader(vessel.in, StandardCharsets.UTF_8)).readLine();
            return answer != null && (answer.trim().equalsIgnoreCase("y") || answer.trim().equalsIgnoreCase("yes"));
        }
    }
}
