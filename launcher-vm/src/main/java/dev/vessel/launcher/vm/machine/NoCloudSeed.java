package dev.vessel.launcher.vm.machine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.Trees;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

/**
 * The seed of cloud-init's NoCloud datasource: an ISO 9660 filesystem labelled {@code cidata} holding
 * {@code meta-data} (instance-id, local-hostname, public-keys) and {@code user-data} as given, which
 * cloud-init finds on any disk of the guest by its label. meta-data is written as JSON, which is YAML
 * too, so no value given by a client can change its structure. Made by {@code genisoimage} (as
 * cloud-image-utils' {@code cloud-localds} does), into a temporary name renamed into place.
 */
public final class NoCloudSeed {
    private static final ObjectMapper JSON = new ObjectMapper();

    private NoCloudSeed() {
    }

    /**
     * Writes the seed to {@code iso}.
     *
     * @param hostname empty: none (the image keeps its own)
     * @param userData empty: an empty user-data (cloud-init requires the file)
     */
    public static void write(Path iso, String instanceId, String hostname, String userData, List<String> sshKeys)
            throws IOException {
        ObjectNode meta = JSON.createObjectNode().put("instance-id", instanceId);
        if (!hostname.isEmpty()) {
            meta.put("local-hostname", hostname);
        }
        if (!sshKeys.isEmpty()) {
            meta.putPOJO("public-keys", sshKeys);
        }
        Path files = Files.createTempDirectory(iso.getParent(), ".seed-");
        Path temporary = iso.resolveSibling("." + iso.getFileName() + ".new");
        try {
            Files.writeString(files.resolve("meta-data"), JSON.writerWithDefaultPrettyPrinter().writeValueAsString(meta)
                    + "\n", StandardCharsets.UTF_8);
            Files.writeString(files.resolve("user-data"), userData, StandardCharsets.UTF_8);
            genisoimage(temporary, files);
            Files.move(temporary, iso, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
            Trees.delete(files);
        }
    }

    private static void genisoimage(Path out, Path files) throws IOException {
        try {
            HostTool.run(List.of("genisoimage", "-quiet", "-output", out.toString(), "-volid", "cidata", "-joliet",
                    "-rock", files.resolve("user-data").toString(), files.resolve("meta-data").toString()));
        } catch (HostTool.Failure e) {
            throw VesselException.internal("vm.machine.cloud_init", "genisoimage could not make the seed: "
                    + e.getMessage(), e);
        }
    }
}
