package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * {@code run}'s {@code --ipc}, {@code --uts} and {@code --pid}, as podman's: {@code container:ID} joins that running
 * container's namespace, {@code ns:PATH} the namespace of an nsfs file, {@code private} (the default) gives the
 * container its own. The config's {@code namespace_paths}; the host's namespaces are not shared ({@code host} is
 * refused here, a path to one by the daemon).
 */
final class NamespaceFlags {
    @Option(names = "--ipc", paramLabel = "MODE", description = "container:ID or ns:PATH joins that IPC namespace;"
            + " private (the default): its own")
    private String ipc;
    @Option(names = "--uts", paramLabel = "MODE", description = "container:ID or ns:PATH joins that UTS namespace"
            + " (and its host name); private (the default): its own")
    private String uts;
    @Option(names = "--pid", paramLabel = "MODE", description = "container:ID or ns:PATH joins that pid namespace;"
            + " private (the default): its own")
    private String pid;

    /** Puts the namespaces to join into {@code body}'s {@code namespace_paths}; a container's: its task's. */
    void putInto(ObjectNode body, VesselClient client) {
        Map<String, String> modes = new LinkedHashMap<>();
        modes.put("ipc", ipc);
        modes.put("uts", uts);
        modes.put("pid", pid);
        modes.forEach((type, mode) -> {
            if (mode == null || mode.equals("private")) {
                return;
            }
            String path;
            if (mode.startsWith("container:") && mode.length() > "container:".length()) {
                path = "/proc/" + taskOf(client, type, mode.substring("container:".length())) + "/ns/" + type;
            } else if (mode.startsWith("ns:") && mode.length() > "ns:".length()) {
                path = mode.substring("ns:".length());
            } else {
                throw new CliFailure("--" + type + ": '" + mode + "' is not container:ID, ns:PATH or private"
                        + (mode.equals("host") ? " (a container does not share the host's namespaces)" : ""));
            }
            body.with("namespace_paths").put(type, path);
        });
    }

    /** The running task of container {@code id}, whose namespaces are joined. */
    private static long taskOf(VesselClient client, String type, String id) {
        JsonNode status = client.call("GET", "/v1/containers/" + Paths.segment(id), null).path("status");
        long task = status.path("pid").asLong(0);
        if (!status.path("state").asText().equals("RUNNING") || task <= 0) {
            throw new CliFailure("--" + type + ": container " + id + " is " + status.path("state").asText()
                    + ", not RUNNING: it has no namespaces to join");
        }
        return task;
    }
}
