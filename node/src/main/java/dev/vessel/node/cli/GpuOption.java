package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Locale;
import picocli.CommandLine;

/** {@code --gpus N|ADDR,…} of {@code run} and {@code vm create}: a count, or PCI addresses the daemon checks. */
final class GpuOption {
    private GpuOption() {
    }

    /** Puts {@code gpus} or {@code gpu_addresses} into {@code json}. */
    static void putInto(ObjectNode json, String value, CommandLine.Model.CommandSpec spec) {
        if (value.matches("[0-9]{1,4}")) {
            int count = Integer.parseInt(value);
            if (count == 0) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--gpus: give a count of at least 1 or"
                        + " addresses");
            }
            json.put("gpus", count);
            return;
        }
        ArrayNode addresses = json.putArray("gpu_addresses");
        for (String address : value.split(",")) {
            addresses.add(address.strip().toLowerCase(Locale.ROOT));
        }
    }
}
