package dev.vessel.launcher.vm.pool;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * The one thread that makes guests (or templates) ahead of demand, one at a time, so that making them takes at
 * most one CPU from the tasks that run; a failed attempt is logged and followed by a pause, so that a broken
 * guest image does not spin.
 */
public final class BackgroundMaker implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(BackgroundMaker.class.getName());
    private static final Duration RETRY_AFTER_FAILURE = Duration.ofSeconds(10);

    /** One attempt at making something. */
    public interface Attempt<T> {
        T make() throws Exception;
    }

    private final String what;
    private final ExecutorService thread;

    /** {@code what}: what it makes, for the log ("a warm guest"); {@code threadName}: its thread's. */
    public BackgroundMaker(String what, String threadName) {
        this.what = what;
        this.thread = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().name(threadName).factory());
    }

    /** Runs {@code work} on the thread, after what was submitted before. */
    public void submit(Runnable work) {
        thread.execute(work);
    }

    /**
     * What {@code attempt} made; empty after a failure, once the pause is over. Throws when interrupted (by
     * {@link #close}).
     */
    public <T> Optional<T> attempt(Attempt<T> attempt) throws InterruptedException {
        try {
            return Optional.of(attempt.make());
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            LOG.log(Level.WARNING, "cannot make {0} (retrying in {1} s): {2}", what, RETRY_AFTER_FAILURE.toSeconds(),
                    e.getMessage());
            Thread.sleep(RETRY_AFTER_FAILURE);
            return Optional.empty();
        }
    }

    /** Interrupts the thread and waits for what it is making: the orphan sweep removes what is left after 2 min. */
    @Override
    public void close() {
        thread.shutdownNow();
        try {
            if (!thread.awaitTermination(2, TimeUnit.MINUTES)) {
                LOG.log(Level.WARNING, "{0} was still being made at close; the orphan sweep will remove it", what);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
