package dev.vessel.node.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.Failures;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.ValidationException;
import dev.vessel.core.error.VesselException;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.lang.System.Logger.Level;

/**
 * Turns any failure into {@code {"code", "field", "message"}} and its status; a validation failure adds
 * {@code "violations"} (the first {@value #MAX_VIOLATIONS}, and {@code "violations_omitted"} past them). Users never see a stack
 * trace: a failure that is not a {@link VesselException} is a bug, logged here in full and reported
 * as INTERNAL.
 */
final class ApiErrors {
    private static final System.Logger LOG = System.getLogger(ApiErrors.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper();
    /*
     * Bounds on what an error body carries. Messages quote client values through Quoted already; these
     * keep any error small even where a message or a field name was built from input some other way.
     */
    static final int MAX_VIOLATIONS = 20;
    static final int MAX_FIELD_CHARS = 256;
    static final int MAX_MESSAGE_CHARS = 1024;

    /** A status and the JSON body that goes with it. */
    record Rendered(HttpResponseStatus status, String json) {
    }

    private ApiErrors() {
    }

    static Rendered render(Throwable failure) {
        Throwable t = Failures.unwrap(failure);
        return switch (t) {
            case HttpError e -> new Rendered(e.status(), body(e.code(), e.field(), e.getMessage()));
            case ValidationException e -> {
                ObjectNode body = node(e.code().name(), e.field().orElse(null), messageOf(e));
                ArrayNode violations = body.putArray("violations");
                e.violations().stream().limit(MAX_VIOLATIONS).forEach(v -> violations.addObject()
                        .put("field", bounded(v.field(), MAX_FIELD_CHARS)).put("problem", bounded(v.problem(), MAX_MESSAGE_CHARS)));
                if (e.violations().size() > MAX_VIOLATIONS) {
                    body.put("violations_omitted", e.violations().size() - MAX_VIOLATIONS);
                }
                yield new Rendered(HttpResponseStatus.BAD_REQUEST, body.toString());
            }
            case VesselException e -> new Rendered(status(e),
                    body(e.code().name(), e.field().orElse(null), messageOf(e)));
            default -> {
                LOG.log(Level.ERROR, "unexpected failure while serving a request", t);
                yield new Rendered(HttpResponseStatus.INTERNAL_SERVER_ERROR, body("INTERNAL", null,
                        "internal error (" + t.getClass().getSimpleName() + "); the daemon's log has the details"));
            }
        };
    }

    static HttpResponseStatus status(VesselException e) {
        return switch (e.code()) {
            case INVALID_ARGUMENT -> HttpResponseStatus.BAD_REQUEST;
            case NOT_FOUND -> HttpResponseStatus.NOT_FOUND;
            case ALREADY_EXISTS, FAILED_PRECONDITION -> HttpResponseStatus.CONFLICT;
            case UNAVAILABLE -> HttpResponseStatus.SERVICE_UNAVAILABLE;
            case DATA_LOSS, INTERNAL -> HttpResponseStatus.INTERNAL_SERVER_ERROR;
        };
    }

    static String body(String code, String field, String message) {
        return node(code, field, message).toString();
    }

    private static ObjectNode node(String code, String field, String message) {
        ObjectNode body = JSON.createObjectNode().put("code", code);
        if (field != null) {
            body.put("field", bounded(field, MAX_FIELD_CHARS));
        }
        return body.put("message", bounded(message, MAX_MESSAGE_CHARS));
    }

    private static String bounded(String text, int max) {
        return text == null ? null : Quoted.truncated(text, max);
    }

    /** The message without the "field: " prefix {@link VesselException} puts in front; the field has its own key. */
    private static String messageOf(VesselException e) {
        String message = e.getMessage();
        String prefix = e.field().map(f -> f + ": ").orElse("");
        return message.startsWith(prefix) ? message.substring(prefix.length()) : message;
    }
}
