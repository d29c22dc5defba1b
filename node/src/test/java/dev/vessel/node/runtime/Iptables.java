package dev.vessel.node.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The host's IPv4 rules: the CNI plugins podman runs keep their shared chains (and the jumps to them) after
 * the last network is gone; {@link #restore} removes what was added since, rules first, then chains. The
 * built-in chains are left out: a table's first use on a fresh host loads them, and they are no one's to
 * remove. Public for the VM tests.
 */
public record Iptables(Map<String, List<String>> rules, Map<String, List<String>> chains) {
    private static final Set<String> BUILT_IN = Set.of("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING");

    public static Iptables now() throws IOException, InterruptedException {
        Map<String, List<String>> rules = new HashMap<>();
        Map<String, List<String>> chains = new HashMap<>();
        String table = "";
        for (String line : run(List.of("iptables-save")).lines().toList()) {
            if (line.startsWith("*")) {
                table = line.substring(1);
            } else if (line.startsWith("-A ")) {
                rules.computeIfAbsent(table, t -> new ArrayList<>()).add(line.substring(3));
            } else if (line.startsWith(":") && !BUILT_IN.contains(line.substring(1).split(" ")[0])) {
                chains.computeIfAbsent(table, t -> new ArrayList<>()).add(line.substring(1).split(" ")[0]);
            }
        }
        return new Iptables(rules, chains);
    }

    public void restore() throws IOException, InterruptedException {
        Iptables after = now();
        for (var table : after.rules.entrySet()) {
            for (String rule : table.getValue()) {
                if (!rules.getOrDefault(table.getKey(), List.of()).contains(rule)) {
                    // iptables-save quotes as a shell does
                    run(List.of("sh", "-c", "iptables -t " + table.getKey() + " -D " + rule));
                }
            }
        }
        for (var table : after.chains.entrySet()) {
            for (String chain : table.getValue()) {
                if (!chains.getOrDefault(table.getKey(), List.of()).contains(chain)) {
                    run(List.of("iptables", "-t", table.getKey(), "-X", chain));
                }
            }
        }
        assertEquals(this, now(), "the host's iptables as they were");
    }

    private static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
        return output;
    }
}
