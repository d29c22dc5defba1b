package dev.vessel.core.containerizer;

import dev.vessel.core.lifecycle.RestartRules;
import dev.vessel.core.model.ContainerRecord;
import dev.vessel.core.model.ContainerState;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Collection;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Starts ended containers again as their restart policies say ({@link RestartRules}), after the policy's
 * back-off. The policy, the restart count and whether a user asked for the end are in the container's
 * record, so a restarted daemon decides as its predecessor would have: nothing is scheduled until
 * recovery is done ({@link #open}), which then hands over every container that ended.
 */
final class RestartScheduler {
    private static final System.Logger LOG = System.getLogger(RestartScheduler.class.getName());

    /** Its one thread only hands each restart to a virtual thread. */
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
            Thread.ofPlatform().daemon().name("restarts").factory());
    /** Starts the ended container given, if it is still the one under its id and still to be restarted. */
    private final Consumer<Container> restart;
    private volatile boolean open;

    RestartScheduler(Consumer<Container> restart) {
        this.restart = restart;
    }

    /** After recovery: from now on containers that end are considered, starting with {@code recovered}. */
    void open(Collection<Container> recovered) {
        open = true;
        recovered.stream().filter(c -> c.snapshot().getStatus().getState() == ContainerState.TERMINATED)
                .forEach(this::ended);
    }

    /** {@code c} has just become TERMINATED (its record checkpointed): schedules its restart if its policy says so. */
    void ended(Container c) {
        ContainerRecord r = c.snapshot();
        if (!open || !RestartRules.restarts(r.getConfig().getRestart(), r.getStatus().getTermination(), r.getKilled(),
                r.getStatus().getRestartCount())) {
            return;
        }
        Duration delay = RestartRules.delay(r.getStatus().getRestartCount());
        LOG.log(Level.INFO, "container ''{0}'' ended ({1}); its restart policy ''{2}'' starts it again in {3} ms",
                c.id, r.getStatus().getTermination().getReason(), r.getConfig().getRestart().getPolicy(),
                delay.toMillis());
        timer.schedule(() -> Thread.ofVirtual().name("restart-" + c.id).start(() -> restart.accept(c)),
                delay.toMillis(), TimeUnit.MILLISECONDS);
    }
}
