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

    private final List<Violation> violations;

    public ValidationException(List<Violation> violations) {
        super(ErrorCode.INVALID_ARGUMENT, violations.getFirst().field(),
                violations.stream().map(Violation::problem).findFirst().orElseThrow()
                        + (violations.size() > 1
                                ? " (and " + violations.stream().skip(1).map(Violation::toString)
                                        .collect(Collectors.joining("; ")) + ")"
                                : ""));
        this.violations = List.copyOf(violations);
    }

    public List<Violation> violations() {
        return violations;
    }
}
