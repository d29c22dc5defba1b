package dev.vessel.node.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.handler.codec.http.HttpResponseStatus;

/** {@code /v1/info}, {@code /v1/health} and the Prometheus {@code /metrics}. */
final class SystemApi {
    private static final ObjectMapper JSON = new ObjectMapper()
            .setPropertyNamingStrategy(com.fasterxml.jackson.databind.PropertyNamingStrategies.SNAKE_CASE);

    private final NodeServices node;
    private final NodeMetrics metrics;

    SystemApi(NodeServices node, NodeMetrics metrics) {
        this.node = node;
        this.metrics = metrics;
    }

    void info(Exchange ex) throws Exception {
        ex.json(HttpResponseStatus.OK, JSON.writeValueAsString(node.currentInfo()));
    }

    /** Answers once the daemon has recovered and serves: the API only listens after that. */
    void health(Exchange ex) {
        ex.json(HttpResponseStatus.OK, "{\"status\":\"ok\"}");
    }

    void metrics(Exchange ex) {
        ex.text(HttpResponseStatus.OK, "text/plain; version=0.0.4; charset=utf-8",
                metrics.render(node.containerizer().list(), node.vms().warmGuestsReady(),
                        node.vms().warmGuestsMemory(), node.vms().guestTemplate().isPresent()));
    }
}
