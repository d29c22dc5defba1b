package dev.vessel.core.lifecycle;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.RestartPolicy;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class RestartRulesTest {
    static final Termination SUCCESS = Termination.newBuilder().setReason(TerminationReason.EXITED).setExitCode(0).build();
    static final Termination FAILURE = Termination.newBuilder().setReason(TerminationReason.EXITED).setExitCode(1).build();
    static final Termination KILLED = Termination.newBuilder().setReason(TerminationReason.EXITED).setSignal(9).build();
    static final Termination OOM = Termination.newBuilder().setReason(TerminationReason.LIMITATION).setSignal(9).build();

    static RestartPolicy policy(String name, int max) {
        return RestartPolicy.newBuilder().setPolicy(name).setMaxRetries(max).build();
    }

    @Test
    void onFailureRestartsFailuresUpToItsCount() {
        RestartPolicy twice = policy("on-failure", 2);
        assertTrue(RestartRules.restarts(twice, FAILURE, false, 0));
        assertTrue(RestartRules.restarts(twice, KILLED, false, 1));
        assertTrue(RestartRules.restarts(twice, OOM, false, 1));
        assertFalse(RestartRules.restarts(twice, FAILURE, false, 2), "two restarts done");
        assertFalse(RestartRules.restarts(twice, SUCCESS, false, 0), "exit 0 is no failure");
        assertTrue(RestartRules.restarts(policy("on-failure", 0), FAILURE, false, 1000), "0: no limit");
    }

    @Test
    void alwaysRestartsAnyEndButOneAskedFor() {
        assertTrue(RestartRules.restarts(policy("always", 0), SUCCESS, false, 50));
        assertTrue(RestartRules.restarts(policy("always", 0), FAILURE, false, 0));
        assertFalse(RestartRules.restarts(policy("always", 0), KILLED, true, 0), "a user's stop or kill");
        assertFalse(RestartRules.restarts(policy("on-failure", 0), FAILURE, true, 0), "a user's stop or kill");
        assertFalse(RestartRules.restarts(policy("no", 0), FAILURE, false, 0));
        assertFalse(RestartRules.restarts(RestartPolicy.getDefaultInstance(), FAILURE, false, 0));
    }

    @Test
    void theBackOffDoublesFrom100MillisecondsUpTo10Seconds() {
        assertEquals(Duration.ofMillis(100), RestartRules.delay(0));
        assertEquals(Duration.ofMillis(200), RestartRules.delay(1));
        assertEquals(Duration.ofMillis(6400), RestartRules.delay(6));
        assertEquals(Duration.ofSeconds(10), RestartRules.delay(7));
        assertEquals(Duration.ofSeconds(10), RestartRules.delay(Integer.MAX_VALUE));
    }
}
