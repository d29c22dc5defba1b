package dev.vessel.launcher.vm.agent;

import dev.vessel.core.agent.AgentFrames;
import io.netty.channel.Channel;
import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Hands one guest's news to its listener off the event loop that reads every guest, in the order it
 * came, on a virtual thread of this guest's: a listener writing output to disk or checkpointing a
 * task's end never holds up another guest's heartbeat. A guest whose events come faster than its
 * listener takes them is no longer read once {@link #MAX_PENDING_BYTES} wait, and read again once half
 * of that drained: what a flooding guest costs the host's memory is bounded, and its writes block.
 */
final class EventRelay {
    private static final System.Logger LOG = System.getLogger(EventRelay.class.getName());
    static final long MAX_PENDING_BYTES = 4L * AgentFrames.MAX_FRAME_BYTES;

    private record Item(Runnable work, long bytes) {
    }

    private final String name;
    private final Deque<Item> queue = new ArrayDeque<>();
    private long pendingBytes;
    private boolean draining;
    /** The channel no longer read because of the backlog; null while reading. */
    private Channel paused;

    EventRelay(String name) {
        this.name = name;
    }

    /**
     * Runs {@code work} after everything handed before; {@code bytes} is what it holds in memory until
     * then, counted against the backlog of {@code source} (null: news that is no frame, counted as none).
     */
    synchronized void hand(Channel source, long bytes, Runnable work) {
        queue.add(new Item(work, bytes));
        pendingBytes += bytes;
        if (source != null && paused == null && pendingBytes >= MAX_PENDING_BYTES) {
            paused = source;
            source.config().setAutoRead(false);
        }
        if (!draining) {
            draining = true;
            Thread.ofVirtual().name("agent-events-" + name).start(this::drain);
        }
    }

    /** Whether the guest is not read now because its listener is behind: its silence is then ours. */
    synchronized boolean isHoldingBack() {
        return paused != null;
    }

    private void drain() {
        while (true) {
            Item item;
            synchronized (this) {
                item = queue.poll();
                if (item == null) {
                    draining = false;
                    return;
                }
            }
            try {
                item.work().run();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "the listener of the guest agent {0} failed: {1}", name, e.toString());
            }
            synchronized (this) {
                pendingBytes -= item.bytes();
                if (paused != null && pendingBytes <= MAX_PENDING_BYTES / 2) {
                    paused.config().setAutoRead(true);
                    paused = null;
                }
            }
        }
    }
}
