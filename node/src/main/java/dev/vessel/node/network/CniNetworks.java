package dev.vessel.node.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.network.NetworkNames;
import dev.vessel.core.paths.Trees;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.RtNetlink;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The CNI networks of the directory the daemon reads CNI configurations from, and the ones it creates
 * there: one {@code <name>.conflist} each, shaped as podman's default network (bridge with host-local
 * IPAM, portmap, firewall, tuning), written beside and renamed into place, so the CNI isolator (which
 * reads the directory on every launch) sees a whole file or none. A created network's file carries a
 * {@code "vessel"} object (libcni ignores unknown keys): only those are removed here, an operator's
 * files never. Whether a container uses a network is the caller's to know.
 */
public final class CniNetworks {
    /** podman's network name rule, and the validator's for a container's networks. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,63}");
    private static final String BRIDGE_PREFIX = "vessel";
    private static final String TMP_SUFFIX = ".conflist.tmp";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One network as a config file describes it. */
    public record Network(String name, Path file, String driver, String bridge, List<Cidr> subnets,
            Optional<String> gateway, boolean internal, boolean managed, Optional<Instant> createdAt) {

        public ObjectNode toJson() {
            ObjectNode json = JSON.createObjectNode().put("name", name).put("driver", driver)
                    .put("network_interface", bridge).put("internal", internal).put("managed", managed)
                    .put("file", file.toString());
            createdAt.ifPresent(t -> json.put("created", t.toString()));
            ArrayNode s = json.putArray("subnets");
            for (Cidr c : subnets) {
                ObjectNode o = s.addObject().put("subnet", c.toString());
                gateway.ifPresent(g -> o.put("gateway", g));
            }
            return json;
        }
    }

    /** What {@code network create} asks for; empty optionals: chosen here. */
    public record Request(String name, Optional<String> subnet, Optional<String> gateway, boolean internal,
            String driver) {
    }

    private final Path configDir;
    private final Path leasesDir;

    /**
     * @param configDir the directory the CNI isolator reads
     * @param leasesDir where host-local keeps a created network's IP reservations ({@code <dir>/<name>/})
     */
    public CniNetworks(Path configDir, Path leasesDir) {
        this.configDir = configDir;
        this.leasesDir = leasesDir;
    }

    /** At start: removes the files a crash left half written ({@code .<name>.conflist.tmp}, never read by CNI). */
    public void recover() throws IOException {
        if (!Files.isDirectory(configDir)) {
            return;
        }
        try (Stream<Path> entries = Files.list(configDir)) {
            for (Path p : entries.filter(p -> isTmp(p.getFileName().toString())).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static boolean isTmp(String file) {
        return file.startsWith(".") && file.endsWith(TMP_SUFFIX);
    }

    /** Every network of the directory, in name order; a file that cannot be read is skipped. */
    public List<Network> list() {
        List<Network> all = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (Path file : files()) {
            read(file).filter(n -> seen.add(n.name())).ifPresent(all::add); // libcni: the first of a name wins
        }
        all.sort((a, b) -> a.name().compareTo(b.name()));
        return all;
    }

    public Optional<Network> find(String name) {
        return list().stream().filter(n -> n.name().equals(name)).findFirst();
    }

    /** Writes the network's file; refused naming the field when the name, subnet or gateway will not do. */
    public synchronized Network create(Request request) throws IOException {
        String name = request.name();
        if (name == null || !NAME.matcher(name).matches()) {
            throw VesselException.invalid("name", Quoted.of(String.valueOf(name)) + " is not a network name: letters,"
                    + " digits, '_', '.', '-', starting with a letter or digit, at most 64");
        }
        if (NetworkNames.isReserved(name)) {
            throw VesselException.invalid("name", Quoted.of(name) + " is reserved (host and none are not CNI networks)");
        }
        if (!request.driver().equals("bridge")) {
            throw VesselException.invalid("driver", Quoted.of(request.driver()) + " is not supported: only bridge");
        }
        List<Network> existing = list();
        if (existing.stream().anyMatch(n -> n.name().equals(name))) {
            throw new VesselException(ErrorCode.ALREADY_EXISTS, "name", "network " + Quoted.of(name) + " exists");
        }
        List<Cidr> taken = existing.stream().flatMap(n -> n.subnets().stream()).toList();
        Cidr subnet;
        if (request.subnet().isPresent()) {
            subnet = Cidr.parse("subnet", request.subnet().get());
            for (Network n : existing) {
                for (Cidr c : n.subnets()) {
                    if (c.overlaps(subnet)) {
                        throw VesselException.invalid("subnet", subnet + " overlaps " + c + " of network "
                                + Quoted.of(n.name()));
                    }
                }
            }
        } else if (request.gateway().isPresent()) {
            throw VesselException.invalid("gateway", "needs a subnet to be in");
        } else {
            subnet = freeSubnet(taken);
        }
        String gateway = request.gateway().isPresent() ? subnet.checkHost("gateway", request.gateway().get())
                : subnet.firstHost();
        String bridge = freeBridge(existing);
        ObjectNode conf = JSON.createObjectNode().put("cniVersion", "1.0.0").put("name", name);
        conf.putObject("vessel").put("created_at", Instant.now().toString()).put("internal", request.internal());
        ArrayNode plugins = conf.putArray("plugins");
        ObjectNode bridgePlugin = plugins.addObject().put("type", "bridge").put("bridge", bridge)
                .put("isGateway", !request.internal()).put("ipMasq", !request.internal()).put("hairpinMode", true);
        ObjectNode ipam = bridgePlugin.putObject("ipam").put("type", "host-local");
        if (!request.internal()) {
            ipam.putArray("routes").addObject().put("dst", "0.0.0.0/0");
        }
        ipam.putArray("ranges").addArray().addObject().put("subnet", subnet.toString()).put("gateway", gateway);
        ipam.put("dataDir", leasesDir.toString());
        plugins.addObject().put("type", "portmap").putObject("capabilities").put("portMappings", true);
        plugins.addObject().put("type", "firewall");
        plugins.addObject().put("type", "tuning");

        Files.createDirectories(configDir);
        Path file = configDir.resolve(name + ".conflist");
        Path tmp = configDir.resolve("." + name + TMP_SUFFIX); // no config suffix: never read half written
        Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(conf), StandardCharsets.UTF_8);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        return read(file).orElseThrow();
    }

    /**
     * Removes a network this daemon created: its file, its bridge when no other network names it, its IP
     * reservations. An operator's file is refused, left as it is.
     */
    public synchronized Network remove(String name) throws IOException {
        Network network = find(name).orElseThrow(() -> notFound(name));
        if (!network.managed()) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, name, "network " + Quoted.of(name)
                    + " was not created by vessel (" + network.file() + "): remove that file yourself");
        }
        Files.delete(network.file());
        if (!network.bridge().isEmpty() && list().stream().noneMatch(n -> n.bridge().equals(network.bridge()))) {
            deleteLink(network.bridge());
        }
        Trees.delete(leasesDir.resolve(name));
        return network;
    }

    public static VesselException notFound(String name) {
        return VesselException.notFound(name, "no network " + Quoted.of(name) + " on this node");
    }

    private static void deleteLink(String name) throws IOException {
        try (RtNetlink netlink = RtNetlink.open()) {
            Optional<RtNetlink.Link> link = netlink.link(name);
            if (link.isPresent()) {
                netlink.deleteLink(link.get().index());
            }
        } catch (ErrnoException e) {
            throw new VesselException(ErrorCode.INTERNAL, name, "cannot delete the bridge: " + e.getMessage(), e);
        }
    }

    /** The first 10.89.N.0/24 no network has (podman's range for the networks it creates). */
    private static Cidr freeSubnet(List<Cidr> taken) {
        for (int n = 0; n < 256; n++) {
            Cidr candidate = Cidr.parse("subnet", "10.89." + n + ".0/24");
            if (taken.stream().noneMatch(candidate::overlaps)) {
                return candidate;
            }
        }
        throw VesselException.invalid("subnet", "every 10.89.N.0/24 is taken: give one");
    }

    /** {@code vessel<N>}, the lowest N neither a network's file nor the host has. */
    private static String freeBridge(List<Network> existing) {
        for (int n = 0; ; n++) {
            String name = BRIDGE_PREFIX + n;
            if (existing.stream().noneMatch(e -> e.bridge().equals(name)) && !Files.exists(Path.of("/sys/class/net", name))) {
                return name;
            }
        }
    }

    private List<Path> files() {
        if (!Files.isDirectory(configDir)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(configDir)) {
            return entries.filter(CniNetworks::isConfigFile).sorted().toList();
        } catch (IOException e) {
            throw new VesselException(ErrorCode.UNAVAILABLE, configDir.toString(),
                    "cannot read the CNI configuration directory: " + e.getMessage());
        }
    }

    private static boolean isConfigFile(Path file) {
        String name = file.getFileName().toString();
        return Files.isRegularFile(file) && (name.endsWith(".conflist") || name.endsWith(".conf") || name.endsWith(".json"));
    }

    private static Optional<Network> read(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (IOException e) {
            return Optional.empty();
        }
        if (root == null || !root.path("name").isTextual()) {
            return Optional.empty();
        }
        JsonNode first = root.has("plugins") ? root.path("plugins").path(0) : root;
        List<Cidr> subnets = new ArrayList<>();
        Optional<String> gateway = Optional.empty();
        JsonNode ipam = first.path("ipam");
        List<JsonNode> ranges = new ArrayList<>();
        if (ipam.has("subnet")) {
            ranges.add(ipam);
        }
        ipam.path("ranges").forEach(set -> set.forEach(ranges::add));
        for (JsonNode range : ranges) {
            try {
                subnets.add(Cidr.parse("subnet", range.path("subnet").asText()));
            } catch (VesselException e) {
                continue; // IPv6 or malformed: not one this node hands out, nothing to overlap with
            }
            if (gateway.isEmpty() && range.path("gateway").isTextual()) {
                gateway = Optional.of(range.path("gateway").asText());
            }
        }
        JsonNode vessel = root.path("vessel");
        Optional<Instant> created = Optional.empty();
        if (vessel.path("created_at").isTextual()) {
            created = Optional.of(Instant.parse(vessel.path("created_at").asText()));
        }
        boolean internal = vessel.isObject() ? vessel.path("internal").asBoolean()
                : first.has("isGateway") && !first.path("isGateway").asBoolean();
        return Optional.of(new Network(root.get("name").asText(), file, first.path("type").asText(""),
                first.path("bridge").asText(""), subnets, gateway, internal, vessel.isObject(), created));
    }
}
