package dev.vessel.core.lifecycle;

import dev.vessel.core.error.Quoted;
import dev.vessel.core.model.RestartPolicy;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What a container's {@link RestartPolicy} says when it has ended, docker's rules: {@code always}
 * restarts any end, {@code on-failure} any end but exit code 0 (at most {@code max_retries} times in a
 * row), and neither an end a user asked for (a stop, kill or destroy). Restarts wait 100 ms, twice as long
 * after each restart in a row, at most 10 s.
 */
public final class RestartRules {
    public static final String NO = "no";
    public static final String ON_FAILURE = "on-failure";
    public static final String ALWAYS = "always";
    public static final List<String> POLICIES = List.of(NO, ON_FAILURE, ALWAYS);

    private static final Duration FIRST_DELAY = Duration.ofMillis(100);
    private static final Duration MAX_DELAY = Duration.ofSeconds(10);

    private RestartRules() {
    }

    /** What is wrong with a policy: the field of {@link RestartPolicy} concerned, and why. */
    public record Problem(String field, String message) {
    }

    /** Why {@code policy} is not a policy, or empty when it is one (an empty policy means {@code no}). */
    public static Optional<Problem> problem(RestartPolicy policy) {
        if (!policy.getPolicy().isEmpty() && !POLICIES.contains(policy.getPolicy())) {
            return Optional.of(new Problem("policy", Quoted.of(policy.getPolicy())
                    + " is not a restart policy (no, on-failure or always)"));
        }
        if (policy.getMaxRetries() < 0) {
            return Optional.of(new Problem("max_retries", policy.getMaxRetries() + " is negative (0: no limit)"));
        }
        if (policy.getMaxRetries() > 0 && !policy.getPolicy().equals(ON_FAILURE)) {
            return Optional.of(new Problem("max_retries", "only on-failure takes a count"));
        }
        return Optional.empty();
    }

    /** Whether the policy may ever restart a container. */
    public static boolean restartsAtAll(RestartPolicy policy) {
        return policy.getPolicy().equals(ON_FAILURE) || policy.getPolicy().equals(ALWAYS);
    }

    /**
     * Whether a container that ended with {@code end} is started again, {@code restarts} restarts in a row
     * behind it; {@code asked}: a user's stop, kill or destroy ended it.
     */
    public static boolean restarts(RestartPolicy policy, Termination end, boolean asked, int restarts) {
        if (asked) {
            return false;
        }
        return switch (policy.getPolicy()) {
            case ALWAYS -> true;
            case ON_FAILURE -> !succeeded(end) && (policy.getMaxRetries() == 0 || restarts < policy.getMaxRetries());
            default -> false;
        };
    }

    private static boolean succeeded(Termination end) {
        return end.getReason() == TerminationReason.EXITED && end.getStatusCase() == Termination.StatusCase.EXIT_CODE
                && end.getExitCode() == 0;
    }

    /** How long to wait before the restart that follows {@code restarts} restarts in a row. */
    public static Duration delay(int restarts) {
        Duration delay = FIRST_DELAY.multipliedBy(1L << Math.min(restarts, 10));
        return delay.compareTo(MAX_DELAY) > 0 ? MAX_DELAY : delay;
    }
}
