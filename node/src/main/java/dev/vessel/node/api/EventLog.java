package dev.vessel.node.api;

import dev.vessel.core.spi.ContainerEvent;
import dev.vessel.core.spi.ContainerEventListener;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The node's recent lifecycle events, in memory only: the last {@link #KEPT} for {@code ?since=}, and each
 * listening client's queue. Publishing never waits: a client whose queue ({@link #BACKLOG} events) is full
 * has fallen too far behind and is dropped (its connection closed), so a client that never reads holds no
 * container's lock and no launch. A restarted daemon starts empty: what happened before it is not told.
 */
public final class EventLog implements ContainerEventListener {
    static final int KEPT = 1000;
    static final int BACKLOG = 1000;

    private final ArrayDeque<ContainerEvent> recent = new ArrayDeque<>();
    private final Set<Subscription> subscriptions = ConcurrentHashMap.newKeySet();

    @Override
    public synchronized void event(ContainerEvent event) {
        recent.addLast(event);
        if (recent.size() > KEPT) {
            recent.removeFirst();
        }
        for (Subscription s : subscriptions) {
            s.offer(event);
        }
    }

    /**
     * The kept events from {@code since} on (none when empty), and from then every new one; {@code dropped}
     * runs once if the subscriber falls {@link #BACKLOG} events behind.
     */
    synchronized Subscription subscribe(Instant since, Runnable dropped) {
        List<ContainerEvent> past = new ArrayList<>();
        if (since != null) {
            recent.stream().filter(e -> !e.time().isBefore(since)).forEach(past::add);
        }
        Subscription s = new Subscription(past, dropped);
        subscriptions.add(s);
        return s;
    }

    /** One client's view: what was kept when it came, then a bounded queue of what happens. */
    final class Subscription implements AutoCloseable {
        private final List<ContainerEvent> past;
        private final ArrayBlockingQueue<ContainerEvent> queue = new ArrayBlockingQueue<>(BACKLOG);
        private final Runnable dropped;
        private volatile boolean overflowed;

        private Subscription(List<ContainerEvent> past, Runnable dropped) {
            this.past = past;
            this.dropped = dropped;
        }

        List<ContainerEvent> past() {
            return past;
        }

        private void offer(ContainerEvent event) {
            if (!overflowed && !queue.offer(event)) {
                overflowed = true;
                subscriptions.remove(this);
                dropped.run();
            }
        }

        /** The next event, or null after {@code millis} without one. */
        ContainerEvent next(long millis) throws InterruptedException {
            return queue.poll(millis, TimeUnit.MILLISECONDS);
        }

        boolean overflowed() {
            return overflowed;
        }

        @Override
        public void close() {
            subscriptions.remove(this);
        }
    }
}
