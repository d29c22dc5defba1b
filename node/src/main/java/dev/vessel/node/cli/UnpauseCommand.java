package dev.vessel.node.cli;

import picocli.CommandLine.Command;

/** {@code vessel unpause} (podman's word): thaws paused containers. */
@Command(name = "unpause", mixinStandardHelpOptions = true, description = "Thaw paused containers.")
final class UnpauseCommand extends EachContainerCommand {
    @Override
    String action() {
        return "resume";
    }
}
