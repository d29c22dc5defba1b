package dev.vessel.core.containerizer;

import com.google.protobuf.Timestamp;
import java.time.Instant;

/** The wall-clock times the containerizer records (created, started, finished, sampled). */
final class Timestamps {
    private Timestamps() {
    }

    static Timestamp now() {
        return of(Instant.now());
    }

    static Timestamp of(Instant i) {
        return Timestamp.newBuilder().setSeconds(i.getEpochSecond()).setNanos(i.getNano()).build();
    }
}
