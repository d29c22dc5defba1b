package dev.vessel.node.cli;

import picocli.CommandLine.Command;

/** {@code vessel pause}: freezes every process of running containers (the cgroup freezer) until unpause. */
@Command(name = "pause", mixinStandardHelpOptions = true, description = "Freeze every process of containers.")
final class PauseCommand extends EachContainerCommand {
    @Override
    String action() {
        return "pause";
    }
}
