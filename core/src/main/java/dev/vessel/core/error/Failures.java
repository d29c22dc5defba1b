package dev.vessel.core.error;

/** Puts a component's failure into words: which component, at which step, and why. */
public final class Failures {
    private Failures() {
    }

    /**
     * Wraps a failure of {@code component} during {@code step}. A {@link VesselException} keeps its
     * code and field; anything else becomes {@link ErrorCode#INTERNAL}.
     */
    public static VesselException of(String component, String step, Throwable failure) {
        Throwable cause = unwrap(failure);
        String why = cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
        String message = component + " failed to " + step + ": " + why;
        if (cause instanceof VesselException ve) {
            return new VesselException(ve.code(), ve.field().orElse(null), message, ve);
        }
        return new VesselException(ErrorCode.INTERNAL, null, message, cause);
    }

    /** Strips the wrappers futures put around a failure. */
    public static Throwable unwrap(Throwable t) {
        while ((t instanceof java.util.concurrent.CompletionException
                || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
