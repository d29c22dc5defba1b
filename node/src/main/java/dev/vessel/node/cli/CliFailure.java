package dev.vessel.node.cli;

/** A failure the CLI reports as {@code vessel: <message>} with exit code 125, docker's code for its own errors. */
public final class CliFailure extends RuntimeException {
    static final int EXIT_CODE = 125;

    CliFailure(String message) {
        super(message);
    }
}
