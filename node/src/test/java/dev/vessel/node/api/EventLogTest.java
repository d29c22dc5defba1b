package dev.vessel.node.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.spi.ContainerEvent;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class EventLogTest {
    private static ContainerEvent event(int n) {
        return new ContainerEvent(Instant.ofEpochSecond(1_000 + n), ContainerEvent.CONTAINER, "start", "c" + n, Map.of());
    }

    @Test
    void aSubscriberThatFallsBehindIsDroppedOnceAndPublishingGoesOn() throws Exception {
        EventLog log = new EventLog();
        AtomicInteger dropped = new AtomicInteger();
        EventLog.Subscription slow = log.subscribe(null, dropped::incrementAndGet);
        EventLog.Subscription reader = log.subscribe(null, () -> { throw new AssertionError("a reader is never dropped"); });
        for (int i = 0; i < EventLog.BACKLOG + 10; i++) {
            log.event(event(i));
            assertEquals("c" + i, reader.next(0).id());
        }
        assertEquals(1, dropped.get());
        assertTrue(slow.overflowed());
        assertEquals("c0", slow.next(0).id()); // what it had queued is still its own
    }

    @Test
    void sinceReplaysTheKeptEventsFromThatTimeAndNoOlderThanTheRing() throws Exception {
        EventLog log = new EventLog();
        for (int i = 0; i < EventLog.KEPT + 5; i++) {
            log.event(event(i));
        }
        try (EventLog.Subscription all = log.subscribe(Instant.EPOCH, () -> { })) {
            assertEquals(EventLog.KEPT, all.past().size());
            assertEquals("c5", all.past().getFirst().id());
            assertNull(all.next(0));
        }
        try (EventLog.Subscription recent = log.subscribe(Instant.ofEpochSecond(1_000 + EventLog.KEPT + 3), () -> { })) {
            assertEquals(2, recent.past().size());
        }
        try (EventLog.Subscription none = log.subscribe(null, () -> { })) {
            assertTrue(none.past().isEmpty());
        }
    }
}
