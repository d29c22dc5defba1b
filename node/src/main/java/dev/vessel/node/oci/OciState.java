package dev.vessel.node.oci;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.ResourceStatistics;
import java.io.IOException;
import java.time.Instant;
import java.util.List;

/** A Vessel container as the OCI runtime spec's state, and as runc's {@code list} shows it. */
public final class OciState {
    /** The runtime-spec version whose state this is. */
    public static final String OCI_VERSION = "1.0.2";

    private static final ObjectMapper JSON = new ObjectMapper();

    private OciState() {
    }

    /** Before CREATED the container is still being made; once its task ended (or while cleaned up), stopped. */
    public static String status(ContainerState state) {
        return switch (state) {
            case CREATED -> "created";
            case RUNNING -> "running";
            case PAUSED -> "paused";
            case DESTROYING, TERMINATED -> "stopped";
            default -> "creating";
        };
    }

    /** {@code ociVersion, id, status, pid, bundle, annotations}: pid only while created, running or paused. */
    public static ObjectNode of(ContainerStatus status, ContainerConfig config) {
        String oci = status(status.getState());
        ObjectNode state = JSON.createObjectNode().put("ociVersion", OCI_VERSION).put("id", status.getId())
                .put("status", oci);
        if (oci.equals("created") || oci.equals("running") || oci.equals("paused")) {
            state.put("pid", status.getPid());
        }
        state.put("bundle", config.getLabelsOrDefault(BundleConfig.BUNDLE_LABEL, ""));
        try {
            String annotations = config.getLabelsOrDefault(BundleConfig.ANNOTATIONS_LABEL, "{}");
            state.set("annotations", JSON.readTree(annotations));
        } catch (IOException e) {
            throw new IllegalStateException("the annotations label holds no JSON", e);
        }
        return state;
    }

    /** runc's {@code list --format json}: one object per container. */
    public static String listJson(List<ContainerStatus> statuses, List<ContainerConfig> configs) {
        ArrayNode list = JSON.createArrayNode();
        for (int i = 0; i < statuses.size(); i++) {
            ObjectNode state = of(statuses.get(i), configs.get(i));
            list.addObject().put("ociVersion", OCI_VERSION).put("id", statuses.get(i).getId())
                    .put("pid", state.path("pid").asLong(0)).put("status", state.get("status").asText())
                    .put("bundle", state.get("bundle").asText()).put("rootfs", configs.get(i).getHostRootfs())
                    .put("created", created(statuses.get(i))).put("owner", "root");
        }
        return list.toString();
    }

    /** runc's {@code list} table. */
    public static String listTable(List<ContainerStatus> statuses, List<ContainerConfig> configs) {
        StringBuilder table = new StringBuilder(String.format("%-12s %-8s %-10s %-40s %-30s %s%n", "ID", "PID",
                "STATUS", "BUNDLE", "CREATED", "OWNER"));
        for (int i = 0; i < statuses.size(); i++) {
            ObjectNode state = of(statuses.get(i), configs.get(i));
            table.append(String.format("%-12s %-8d %-10s %-40s %-30s %s%n", statuses.get(i).getId(),
                    state.path("pid").asLong(0), state.get("status").asText(), state.get("bundle").asText(),
                    created(statuses.get(i)), "root"));
        }
        return table.toString();
    }

    /**
     * runc's {@code events --stats} line: {@code {"type":"stats","id":…,"data":{cpu, memory, pids}}} with runc's
     * member names and units (CPU times in nanoseconds), from the container's usage.
     */
    public static String statsEvent(String id, ResourceStatistics usage) {
        ObjectNode event = JSON.createObjectNode().put("type", "stats").put("id", id);
        ObjectNode data = event.putObject("data");
        ObjectNode cpu = data.putObject("cpu");
        long user = Math.round(usage.getCpuUserSeconds() * 1e9);
        long kernel = Math.round(usage.getCpuSystemSeconds() * 1e9);
        cpu.putObject("usage").put("total", user + kernel).put("kernel", kernel).put("user", user);
        cpu.putObject("throttling").put("periods", usage.getCpuPeriods())
                .put("throttledPeriods", usage.getCpuThrottledPeriods())
                .put("throttledTime", Math.round(usage.getCpuThrottledSeconds() * 1e9));
        data.putObject("memory").putObject("usage").put("limit", usage.getMemoryLimitBytes())
                .put("usage", usage.getMemoryUsageBytes()).put("max", usage.getMemoryPeakBytes()).put("failcnt", 0);
        data.putObject("pids").put("current", usage.getPidsCurrent()).put("limit", usage.getPidsLimit());
        return event.toString();
    }

    private static String created(ContainerStatus status) {
        return Instant.ofEpochSecond(status.getCreatedAt().getSeconds(), status.getCreatedAt().getNanos()).toString();
    }
}
