package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;

/** {@code vessel info}: what the node is and can do. */
@Command(name = "info", mixinStandardHelpOptions = true, description = "Show the node: versions, cgroups, accelerator, launchers, isolator chains.")
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
