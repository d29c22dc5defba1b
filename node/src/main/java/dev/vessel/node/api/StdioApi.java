package dev.vessel.node.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.spi.Containerizer;
import dev.vessel.core.stdio.StdioChannel;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.Iterator;

/**
 * A container's stdio and the processes exec'd into it: {@code /v1/containers/{id}/attach} and
 * {@code /resize}, {@code /exec}, {@code /exec/{eid}}, {@code /exec/{eid}/start} and {@code /exec/{eid}/resize}.
 * An interactive session is an upgraded connection ({@link Exchange#upgrade}) carrying {@code StdioFrame}s
 * both ways, the last one the process's EXIT.
 */
final class StdioApi {
    private final Containerizer containerizer;

    StdioApi(Containerizer containerizer) {
        this.containerizer = containerizer;
    }

    /** Joins the task's stdio; the client detaches by closing the connection. */
    void attach(Exchange ex) throws InterruptedException {
        ex.requireUpgradeRequest(); // before anything is attached
        relay(ex, containerizer.attach(ex.param("id")));
    }

    /** {@code {"rows":R,"columns":C}}: the new size of the task's terminal. */
    void resize(Exchange ex) {
        int[] size = size(ProtoJson.readObject(ex.body()));
        containerizer.resize(ex.param("id"), size[0], size[1]);
        ex.json(HttpResponseStatus.OK, "{}");
    }

    /** An {@code ExecConfig}: recorded, not started (201 with its status). */
    void create(Exchange ex) {
        ExecConfig config = ProtoJson.merge(ProtoJson.readObject(ex.body()), ExecConfig.newBuilder(), "").build();
        ex.json(HttpResponseStatus.CREATED, ProtoJson.print(containerizer.execCreate(ex.param("id"), config)));
    }

    void inspect(Exchange ex) {
        ex.json(HttpResponseStatus.OK, ProtoJson.print(containerizer.execStatus(ex.param("id"), ex.param("eid"))));
    }

    /**
     * Starts the exec: with {@code ?detach=true} answers 200 with its status once it runs; otherwise the
     * connection is upgraded and carries its stdio until its EXIT.
     */
    void start(Exchange ex) throws InterruptedException {
        if (ex.flag("detach")) {
            ex.json(HttpResponseStatus.OK, ProtoJson.print(containerizer.execStartDetached(ex.param("id"), ex.param("eid"))));
            return;
        }
        ex.requireUpgradeRequest(); // before anything is started
        relay(ex, containerizer.execStart(ex.param("id"), ex.param("eid")));
    }

    void resizeExec(Exchange ex) {
        int[] size = size(ProtoJson.readObject(ex.body()));
        containerizer.execResize(ex.param("id"), ex.param("eid"), size[0], size[1]);
        ex.json(HttpResponseStatus.OK, "{}");
    }

    private static void relay(Exchange ex, StdioChannel channel) throws InterruptedException {
        UpgradedConnection client;
        try {
            client = ex.upgrade();
        } catch (RuntimeException e) {
            try {
                channel.close();
            } catch (java.io.IOException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
        FrameRelay.run(channel, client);
    }

    /** rows and columns, whole numbers; their range is the containerizer's to check. */
    private static int[] size(ObjectNode json) {
        for (Iterator<String> names = json.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!name.equals("rows") && !name.equals("columns")) {
                throw VesselException.invalid(name, "unknown field " + Quoted.of(name) + " (a resize takes rows and columns)");
            }
        }
        return new int[] {dimension(json, "rows"), dimension(json, "columns")};
    }

    private static int dimension(ObjectNode json, String name) {
        JsonNode value = json.get(name);
        if (value == null || value.isNull()) {
            throw VesselException.invalid(name, "missing: the terminal's " + (name.equals("rows") ? "height" : "width"));
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt()) {
            throw VesselException.invalid(name, "must be a whole number from 1 to 65535");
        }
        return value.intValue();
    }
}
