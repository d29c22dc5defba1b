package dev.vessel.isolators.network;

import java.nio.file.Path;
import java.util.List;

/**
 * How a CNI plugin binary is started: the command line for it; environment, stdin and stdout are
 * the CNI contract and stay with the caller. A plugin acts in the network namespace it runs in (the
 * bridge plugin creates its bridge there), so this is where a runtime can place the host side of
 * its networks elsewhere than in its own namespace — tests do, with {@code ip netns exec}: product
 * code cannot setns a child between fork and exec through {@link ProcessBuilder}.
 */
@FunctionalInterface
public interface PluginRunner {
    /** Runs the plugin where the daemon itself runs: the normal case on a host or in a guest. */
    PluginRunner DIRECT = plugin -> List.of(plugin.toString());

    List<String> command(Path plugin);
}
