package dev.vessel.node.cli;

import java.io.IOException;

/** An attached session of run, exec or attach: the local side chosen, the session run to its end. */
final class Attached {
    /** Something to do once the session relays (run's start of its created container). */
    @FunctionalInterface
    interface Then {
        void run() throws IOException;
    }

    private Attached() {
    }

    static StdioSession.Result run(Vessel vessel, VesselClient.Upgraded connection, boolean tty, boolean interactive,
            DetachKeys detachKeys, Then then) throws IOException, InterruptedException {
        boolean localTerminal = vessel.stdinIsTerminal();
        if (tty && interactive && !localTerminal) {
            // podman's warning: a remote terminal fed from a pipe or a file still works, without a local one
            vessel.err.println("vessel: warning: the input device is not a terminal; -t and -i might not behave as"
                    + " on one");
        }
        try (StdioSession session = StdioSession.begin(connection,
                new StdioSession.Options(tty, interactive, localTerminal, detachKeys.sequence()), vessel.in, vessel.out, vessel.err)) {
            then.run();
            return session.await();
        }
    }
}
