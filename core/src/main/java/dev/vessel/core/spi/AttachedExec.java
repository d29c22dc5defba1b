package dev.vessel.core.spi;

import dev.vessel.core.stdio.StdioChannel;

/** An exec started with a client already attached to its stdio: nothing it printed was missed. */
public record AttachedExec(ExecutedProcess process, StdioChannel stdio) {
}
