package dev.vessel.guest;

import java.util.function.BooleanSupplier;

/**
 * The connection to the host as the tasks see it: the writer of the current connection once its
 * handshake is done, or none while the host is away. Task event forwarders wait here for a (new)
 * connection and for their task's news ({@link #poke()}).
 */
final class HostLink {
    private FrameWriter current;

    synchronized FrameWriter current() {
        return current;
    }

    /** The handshake of {@code writer}'s connection is done: events may flow to it. */
    synchronized void up(FrameWriter writer) {
        current = writer;
        notifyAll();
    }

    synchronized void down(FrameWriter writer) {
        if (current == writer) {
            current = null;
        }
        notifyAll();
    }

    /** Wakes every waiter, e.g. when a task ended. */
    synchronized void poke() {
        notifyAll();
    }

    /**
     * Waits up to {@code millis} unless the current writer is no longer {@code seen} or {@code wakeNow}
     * holds; a poke ends the wait too. {@code wakeNow} is checked under the lock that {@link #poke()}
     * takes, so a poke right before the wait is not lost.
     */
    synchronized void awaitChange(FrameWriter seen, long millis, BooleanSupplier wakeNow) throws InterruptedException {
        if (current == seen && !wakeNow.getAsBoolean()) {
            wait(millis);
        }
    }
}
