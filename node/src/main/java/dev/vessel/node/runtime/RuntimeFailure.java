package dev.vessel.node.runtime;

/** A command that failed: its message goes to stderr and the log, and the runtime exits 1, as runc does. */
final class RuntimeFailure extends RuntimeException {
    RuntimeFailure(String message) {
        super(message);
    }
}
