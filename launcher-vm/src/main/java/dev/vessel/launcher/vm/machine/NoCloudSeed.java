package dev.vessel.launcher.vm.machine;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.GuestRoute;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.Trees;
import dev.vessel.linux.ExternalTool;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The seed of cloud-init's NoCloud datasource: an ISO 9660 filesystem labelled {@code cidata} holding
 * {@code meta-data} (instance-id, local-hostname, public-keys), {@code user-data} as given and, for a
 * VM with NICs, {@code network-config} (version 2: each NIC matched by its MAC, with the addresses and
 * routes CNI's IPAM gave its interface, so the guest needs no DHCP server), which cloud-init finds on
 * any disk of the guest by its label. meta-data and network-config are written as JSON, which is YAML
 * too, so no value given by a client can change their structure. Made by {@code genisoimage} (as
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
     * @param userData   empty: an empty user-data (cloud-init requires the file)
     * @param interfaces the guest's NICs as {@code vm/network} made them; none: no network-config (cloud-init's
     *                   fallback, DHCP on the first NIC)
     */
    public static void write(Path iso, String instanceId, String hostname, String userData, List<String> sshKeys,
            List<GuestInterface> interfaces) throws IOException {
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
            if (!interfaces.isEmpty()) {
                Files.writeString(files.resolve("network-config"), JSON.writerWithDefaultPrettyPrinter()
                        .writeValueAsString(networkConfig(interfaces)) + "\n", StandardCharsets.UTF_8);
            }
            genisoimage(temporary, files);
            Files.move(temporary, iso, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(temporary);
            Trees.delete(files);
        }
    }

    /** Network config version 2: one ethernet per NIC, matched by MAC, its addresses and routes static. */
    static ObjectNode networkConfig(List<GuestInterface> interfaces) {
        ObjectNode config = JSON.createObjectNode().put("version", 2);
        ObjectNode ethernets = config.putObject("ethernets");
        for (int i = 0; i < interfaces.size(); i++) {
            GuestInterface nic = interfaces.get(i);
            ObjectNode eth = ethernets.putObject("nic" + i);
            eth.putObject("match").put("macaddress", nic.getMac());
            eth.put("set-name", "eth" + i);
            if (nic.getMtu() > 0) {
                eth.put("mtu", nic.getMtu());
            }
            ArrayNode addresses = eth.putArray("addresses");
            nic.getAddressesList().forEach(addresses::add);
            if (nic.getRoutesCount() > 0) {
                ArrayNode routes = eth.putArray("routes");
                for (GuestRoute route : nic.getRoutesList()) {
                    ObjectNode r = routes.addObject().put("to", route.getDestination());
                    if (!route.getGateway().isEmpty()) {
                        r.put("via", route.getGateway());
                    }
                }
            }
        }
        return config;
    }

    private static void genisoimage(Path out, Path files) throws IOException {
        List<String> argv = new ArrayList<>(List.of("genisoimage", "-quiet", "-output", out.toString(), "-volid",
                "cidata", "-joliet", "-rock"));
        try (var entries = Files.list(files)) {
            entries.sorted().forEach(f -> argv.add(f.toString()));
        }
        try {
            ExternalTool.run(argv);
        } catch (ExternalTool.Failure e) {
            throw VesselException.internal("vm.machine.cloud_init", "genisoimage could not make the seed: "
                    + e.getMessage(), e);
        }
    }
}
