package dev.vessel.node.api;

import io.netty.handler.codec.http.HttpResponseStatus;

/** A refusal at the HTTP level, before any component is involved: no route, no credentials, too large. */
final class HttpError extends RuntimeException {
    private final HttpResponseStatus status;
    private final String code;
    private final String field;

    HttpError(HttpResponseStatus status, String code, String field, String message) {
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.field = field;
    }

    HttpResponseStatus status() {
        return status;
    }

    String code() {
        return code;
    }

    String field() {
        return field;
    }
}
