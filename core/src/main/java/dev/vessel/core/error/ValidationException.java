package dev.vessel.core.error;

import java.util.List;
import java.util.stream.Collectors;

/** A request refused before anything was created, listing every field that is wrong. */
public final class ValidationException extends VesselException {
    /** One problem with one field, e.g. {@code volumes[0].target} / "must be an absolute path". */
    public record Violation(String field, String problem) {
        @Override
        public String toString() {
            return field + ": " + problem;
        }
    }

    /** How many further violations the message lists after the first. */
    public static final int MAX_LISTED = 10;

    private final List<Violation> violations;

    public ValidationException(List<Violation> violations) {
        super(ErrorCode.INVALID_ARGUMENT, violations.getFirst().field(), summary(violations));
        this.violations = List.copyOf(violations);
    }

    /** The first problem, then the next few: a request with thousands of bad entries must not make a huge message. */
    private static String summary(List<Violation> violations) {
        String first = violations.getFirst().problem();
        if (violations.size() == 1) {
            return first;
        }
        String more = violations.stream().skip(1).limit(MAX_LISTED).map(Violation::toString)
                .collect(Collectors.joining("; "));
        int unlisted = violations.size() - 1 - MAX_LISTED;
        return first + " (and " + more + (unlisted > 0 ? "; and " + unlisted + " more" : "") + ")";
    }

    public List<Violation> violations() {
        return violations;
    }
}
