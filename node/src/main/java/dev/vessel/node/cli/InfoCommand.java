package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code vessel info}: what the node is and can do. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Show the node: versions, cgroups, accelerator,"
        + " launchers, isolator chains, GPUs and who holds them.")
final class InfoCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Option(names = "--json", description = "print the daemon's JSON")
    private boolean json;

    @Override
    public Integer call() {
        JsonNode info = vessel.client().call("GET", "/v1/info", null);
        if (json) {
            vessel.out.println(info);
            return 0;
        }
        print(info, "");
        return 0;
    }

    /** {@code 0000:41:00.0 NVIDIA H100 80GB HBM3 (10de:2330), IOMMU group 28, NUMA node 0, driver nvidia, held by web}. */
    private static String gpu(JsonNode gpu) {
        int group = gpu.path("iommu_group").asInt(-1);
        int numa = gpu.path("numa_node").asInt(-1);
        String driver = gpu.path("driver").asText();
        String holder = gpu.path("held_by").asText();
        return gpu.path("address").asText() + " " + gpu.path("model").asText() + " (" + gpu.path("ids").asText() + ")"
                + ", IOMMU group " + (group < 0 ? "none" : group) + ", NUMA node " + (numa < 0 ? "none" : numa)
                + ", driver " + (driver.isEmpty() ? "none" : driver) + ", " + (holder.isEmpty() ? "free" : "held by " + holder);
    }

    /** One line per field; an object's fields (the isolator chains) go indented under its name. */
    private void print(JsonNode object, String indent) {
        for (Map.Entry<String, JsonNode> field : object.properties()) {
            JsonNode value = field.getValue();
            String name = indent + field.getKey().replace('_', ' ') + ":";
            if (value.isObject()) {
                vessel.out.println(name);
                print(value, indent + "  ");
                continue;
            }
            if (field.getKey().equals("gpus")) {
                vessel.out.println(name + (value.isEmpty() ? " none" : ""));
                value.forEach(gpu -> vessel.out.println(indent + "  " + gpu(gpu)));
                continue;
            }
            StringBuilder text = new StringBuilder();
            if (value.isArray()) {
                value.forEach(v -> text.append(text.isEmpty() ? "" : ", ").append(v.asText()));
            } else {
                text.append(value.asText());
            }
            vessel.out.println(name + " " + text);
        }
    }
}
