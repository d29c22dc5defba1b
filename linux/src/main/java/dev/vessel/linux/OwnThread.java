package dev.vessel.linux;

import java.io.IOException;

/**
 * Runs a piece of work on a platform thread of its own and waits for it. For calls that change the
 * calling thread's state, such as setns(2) or unshare(2) of a network namespace: no other work may
 * ever run on that thread, and a virtual thread would carry the change to whatever its carrier runs
 * next.
 */
public final class OwnThread {
    /** Work that may fail with an I/O error. */
    @FunctionalInterface
    public interface IoWork<T> {
        T run() throws IOException;
    }

    private OwnThread() {
    }

    /** Runs {@code work} on a new platform thread named {@code name}; its result or its failure comes back. */
    public static <T> T call(String name, IoWork<T> work) throws IOException {
        Object[] result = new Object[1];
        IOException[] failure = new IOException[1];
        Thread thread = Thread.ofPlatform().name(name).start(() -> {
            try {
                result[0] = work.run();
            } catch (IOException e) {
                failure[0] = e;
            }
        });
        try {
            thread.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for " + name, e);
        }
        if (failure[0] != null) {
            throw failure[0];
        }
        @SuppressWarnings("unchecked")
        T value = (T) result[0];
        return value;
    }
}
