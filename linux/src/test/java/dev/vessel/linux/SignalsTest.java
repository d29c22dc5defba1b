package dev.vessel.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

class SignalsTest {
    @Test
    void namesAndNumbersAsPeopleAndImagesWriteThem() {
        assertEquals(OptionalInt.of(15), Signals.parse("SIGTERM"));
        assertEquals(OptionalInt.of(15), Signals.parse("term"));
        assertEquals(OptionalInt.of(15), Signals.parse("15"));
        assertEquals(OptionalInt.of(9), Signals.parse("KILL"));
        assertEquals(OptionalInt.of(10), Signals.parse("SIGUSR1"));
        assertEquals(OptionalInt.of(28), Signals.parse("WINCH"));
        assertEquals(OptionalInt.of(31), Signals.parse("SIGSYS"));
        assertEquals(OptionalInt.of(34), Signals.parse("SIGRTMIN"));
        assertEquals(OptionalInt.of(37), Signals.parse("SIGRTMIN+3"));
        assertEquals(OptionalInt.of(63), Signals.parse("RTMAX-1"));
        assertEquals(OptionalInt.of(64), Signals.parse("64"));
    }

    @Test
    void anythingElseNamesNoSignal() {
        for (String bad : List.of("", "0", "65", "-1", "SIGFOO", "SIG", "RTMIN+31", "RTMAX+1", "RTMIN-1", "1.5", "007")) {
            assertTrue(Signals.parse(bad).isEmpty(), bad);
        }
    }
}
