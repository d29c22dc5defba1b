package dev.vessel.core.error;

import java.util.Optional;

/**
 * The one error type Vessel reports to users: a code, the field or object concerned, and a
 * message a user can act on. Components throw it (or a subclass); the API turns it into a status.
 */
public class VesselException extends RuntimeException {
    private final ErrorCode code;
    private final String field;

    public VesselException(ErrorCode code, String field, String message) {
        this(code, field, message, null);
    }

    public VesselException(ErrorCode code, String field, String message, Throwable cause) {
        super(field == null ? message : field + ": " + message, cause);
        this.code = code;
        this.field = field;
    }

    public ErrorCode code() {
        return code;
    }

    /** The field (e.g. {@code resources.memory_bytes}) or object (e.g. a container id) concerned. */
    public Optional<String> field() {
        return Optional.ofNullable(field);
    }

    public static VesselException invalid(String field, String message) {
        return new VesselException(ErrorCode.INVALID_ARGUMENT, field, message);
    }

    public static VesselException notFound(String object, String message) {
        return new VesselException(ErrorCode.NOT_FOUND, object, message);
    }

    public static VesselException internal(String object, String message, Throwable cause) {
        return new VesselException(ErrorCode.INTERNAL, object, message, cause);
    }
}
