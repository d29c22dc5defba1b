package dev.vessel.node.api;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.spi.Containerizer;
import dev.vessel.launcher.process.LogReader;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * {@code /v1/containers}: launch (or create, then start), list, inspect, wait, kill, stop, start, restart, update,
 * pause, resume, top, logs, delete, and files in and out as tar streams (archive).
 */
final class ContainersApi {
    private static final int SIGTERM = 15;

    private final NodeServices node;
    private final Containerizer containerizer;
    private final NodeMetrics metrics;
    private final ContainerArchive archive;
    private final ContainerNames names;

    ContainersApi(NodeServices node, NodeMetrics metrics, ContainerNames names) {
        this.node = node;
        this.containerizer = node.containerizer();
        this.metrics = metrics;
        this.names = names;
        this.archive = new ContainerArchive(containerizer);
    }

    /**
     * Returns once the task runs (201 with its status); with {@code ?start=false} once it is CREATED, its
     * program not yet started (an OCI runtime's create). An image must be on the node already, as for docker
     * create.
     */
    void create(Exchange ex) throws IOException {
        ContainerRequests.Parsed request = ContainerRequests.parseRequest(ex.body(), this::podIsolation);
        boolean start = !ex.query("start").map("false"::equals).orElse(false);
        ex.json(HttpResponseStatus.CREATED, ProtoJson.print(launch(request.config(), start, request.idGiven())));
    }

    /** Launches (or only creates) a parsed config, counted in the node's metrics; its id names it until a rename. */
    ContainerStatus launch(ContainerConfig config, boolean start) throws IOException {
        return launch(config, start, false);
    }

    /** As {@link #launch(ContainerConfig, boolean)}; {@code idIsName}: the client chose the id as the name. */
    private ContainerStatus launch(ContainerConfig config, boolean start, boolean idIsName) throws IOException {
        if (config.hasImage()) {
            requireLocal(config.getImage());
        }
        ContainerStatus status;
        try {
            status = names.creating(config, idIsName,
                    () -> start ? containerizer.launch(config) : containerizer.create(config));
        } catch (VesselException e) {
            if (e.code() != ErrorCode.INVALID_ARGUMENT && e.code() != ErrorCode.ALREADY_EXISTS) {
                metrics.launchFailed();
            }
            throw e;
        }
        metrics.launched();
        return status;
    }

    /** The isolation of the pod a member names; PROCESS when there is none (the launch then says why). */
    private Isolation podIsolation(String pod) {
        try {
            return containerizer.config(pod).getIsolation();
        } catch (VesselException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                return Isolation.PROCESS;
            }
            throw e;
        }
    }

    private void requireLocal(ImageReference image) throws IOException {
        String name = ImageReferenceParser.format(image);
        if (node.images().images().stream().noneMatch(e -> e.reference().equals(name))) {
            throw VesselException.notFound("image", "image " + Quoted.of(name) + " is not on this node; pull it first"
                    + " (POST /v1/images/pull)");
        }
    }

    void list(Exchange ex) {
        ex.json(HttpResponseStatus.OK, "{\"containers\":[" + containerizer.list().stream().map(this::withConfig)
                .collect(Collectors.joining(",")) + "]}");
    }

    /**
     * The status with {@code "name"} and {@code "config"} members, so that a listing can show each container's
     * name, image and command.
     */
    private String withConfig(ContainerStatus status) {
        String json = ProtoJson.print(status);
        return config(status).map(c -> json.substring(0, json.length() - 1) + (json.equals("{}") ? "" : ",")
                + "\"name\":" + quoted(names.name(status.getId())) + ",\"config\":" + ProtoJson.print(c) + "}")
                .orElse(json);
    }

    private static String quoted(String text) {
        return ProtoJson.MAPPER.getNodeFactory().textNode(text).toString();
    }

    /** Empty once the container is gone (removed between the listing and this read). */
    private Optional<ContainerConfig> config(ContainerStatus status) {
        try {
            return Optional.of(containerizer.config(status.getId()));
        } catch (VesselException e) {
            if (e.code() == ErrorCode.NOT_FOUND) {
                return Optional.empty();
            }
            throw e;
        }
    }

    /** The status and, while the task runs, its resource usage. */
    void inspect(Exchange ex) {
        String id = ex.param("id");
        ContainerStatus status = containerizer.status(id);
        String usage = "";
        if (status.getState() == ContainerState.RUNNING || status.getState() == ContainerState.PAUSED) {
            try {
                usage = ",\"usage\":" + ProtoJson.print(containerizer.usage(id));
            } catch (VesselException e) {
                if (e.code() != ErrorCode.FAILED_PRECONDITION) { // it ended in between: no usage then
                    throw e;
                }
            }
        }
        String config = config(status).map(c -> ",\"config\":" + ProtoJson.print(c)).orElse("");
        ex.json(HttpResponseStatus.OK, "{\"name\":" + quoted(names.name(id)) + ",\"status\":" + ProtoJson.print(status)
                + config + usage + "}");
    }

    /** {@code ?name=NEW}: the container's new name (podman's rename); answers with its id and name. */
    void rename(Exchange ex) {
        String name = ex.query("name").orElseThrow(() -> VesselException.invalid("name", "missing: ?name=NEW"));
        String id = ex.param("id");
        names.rename(id, name);
        ex.json(HttpResponseStatus.OK, "{\"id\":" + quoted(id) + ",\"name\":" + quoted(names.name(id)) + "}");
    }

    /** Long poll: answers with the termination once the container has ended and is cleaned up. */
    void await(Exchange ex) {
        containerizer.wait(ex.param("id")).whenComplete((termination, failure) -> {
            if (failure != null) {
                ex.fail(failure);
            } else {
                ex.json(HttpResponseStatus.OK, ProtoJson.print(termination));
            }
        });
    }

    void kill(Exchange ex) {
        String id = ex.param("id");
        int signal = ex.query("signal").map(ContainersApi::signal).orElse(SIGTERM);
        containerizer.kill(id, signal);
        ex.json(HttpResponseStatus.OK, ProtoJson.print(containerizer.status(id)));
    }

    private static int signal(String text) {
        try {
            return Integer.parseInt(text);
        } catch (NumberFormatException e) {
            throw VesselException.invalid("signal", Quoted.of(text) + " is not a signal number");
        }
    }

    /**
     * The container's stop signal, then SIGKILL after {@code ?timeout=S} (default: its config's, 10 s); answers
     * with its status once it has ended. An ended container is fine (podman's stop).
     */
    void stop(Exchange ex) {
        String id = ex.param("id");
        containerizer.stop(id, StopTimeout.of(ex));
        ex.json(HttpResponseStatus.OK, ProtoJson.print(containerizer.status(id)));
    }

    /**
     * Runs the program of a CREATED container, or an ended container again with its config; answers once
     * it runs (a running one is left as it is).
     */
    void start(Exchange ex) {
        ex.json(HttpResponseStatus.OK, ProtoJson.print(containerizer.start(ex.param("id"))));
    }

    /** A stop (with {@code ?timeout=S}), then a start. */
    void restart(Exchange ex) {
        String id = ex.param("id");
        containerizer.stop(id, StopTimeout.of(ex));
        ex.json(HttpResponseStatus.OK, ProtoJson.print(containerizer.start(id)));
    }

    void update(Exchange ex) {
        String id = ex.param("id");
        Resources resources = ProtoJson.merge(ProtoJson.readObject(ex.body()), Resources.newBuilder(), "resources").build();
        containerizer.update(id, resources);
        ex.json(HttpResponseStatus.OK, ProtoJson.print(containerizer.status(id)));
    }

    /** Freezes a running container's processes (PAUSED) until a resume. */
    void pause(Exchange ex) {
        String id = ex.param("id");
        containerizer.pause(id);
        ex.json(HttpResponseStatus.OK, ProtoJson.print(containerizer.status(id)));
    }

    void resume(Exchange ex) {
        String id = ex.param("id");
        containerizer.resume(id);
        ex.json(HttpResponseStatus.OK, ProtoJson.print(containerizer.status(id)));
    }

    /** Runs the container's health check now (podman's healthcheck run): its health status, with this run last. */
    void healthcheck(Exchange ex) {
        ex.json(HttpResponseStatus.OK, ProtoJson.print(containerizer.checkHealth(ex.param("id"))));
    }

    /** {@code {"pids": […]}}: the host pids of the container's processes (its cgroups'), ascending. */
    void top(Exchange ex) {
        List<Long> pids = containerizer.processes(ex.param("id"));
        ex.json(HttpResponseStatus.OK, "{\"pids\":" + pids + "}");
    }

    /**
     * Removes a terminated container. A running one is refused unless {@code ?force=1}, which destroys
     * it first (docker rm's rule: removing must not silently kill); that also stops a launch in progress
     * and retries a cleanup that failed.
     */
    void delete(Exchange ex) {
        String id = ex.param("id");
        ContainerStatus status = containerizer.status(id);
        Termination termination;
        if (status.getState() == ContainerState.TERMINATED) {
            termination = status.getTermination();
        } else if (ex.flag("force")) {
            termination = containerizer.destroy(id);
        } else {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, id, "container " + Quoted.of(id) + " is "
                    + status.getState() + "; kill it first or delete with ?force=1");
        }
        try {
            names.removing(() -> containerizer.remove(id));
        } catch (VesselException e) {
            // a launch the destroy cancelled took everything with it
            if (e.code() != ErrorCode.NOT_FOUND || status.getState() == ContainerState.TERMINATED) {
                throw e;
            }
        }
        ex.json(HttpResponseStatus.OK, "{\"id\":\"" + id + "\",\"termination\":" + ProtoJson.print(termination) + "}");
    }

    /** {@code ?path=/abs}: a tar of that file or tree, under its own name (podman's and docker's cp). */
    void getArchive(Exchange ex) throws IOException {
        archive.read(ex.param("id"), requiredPath(ex), ex);
    }

    /**
     * A tar body unpacked at {@code ?path=/abs}: into it if it is a directory, else as that name in its parent.
     * Answers with the number of entries.
     */
    void putArchive(Exchange ex) throws IOException {
        int entries = archive.write(ex.param("id"), requiredPath(ex), ex.body());
        ex.json(HttpResponseStatus.OK, "{\"entries\":" + entries + "}");
    }

    private static String requiredPath(Exchange ex) {
        return ex.query("path").orElseThrow(() -> VesselException.invalid("path", "missing: ?path=/absolute/path"));
    }

    /** The task's stdout or stderr, streamed; with {@code follow=1} until the container has ended. */
    void logs(Exchange ex) throws IOException, InterruptedException {
        String id = ex.param("id");
        LogReader.Stream stream = switch (ex.query("stream").orElse("stdout")) {
            case "stdout" -> LogReader.Stream.STDOUT;
            case "stderr" -> LogReader.Stream.STDERR;
            default -> throw VesselException.invalid("stream", "must be stdout or stderr");
        };
        Path dir = node.paths().containerDir(lineage(containerizer.status(id)));
        LogFollower.stream(ex, "application/octet-stream", (offset, max) -> node.logs().read(dir, stream, offset, max),
                ex.flag("follow"), () -> containerizer.status(id).getState() == ContainerState.TERMINATED,
                containerizer.wait(id));
    }

    /** Ids from the top-level container down to this one: its run directory's path. */
    private List<String> lineage(ContainerStatus status) {
        List<String> lineage = new ArrayList<>();
        for (ContainerStatus s = status; ; s = containerizer.status(s.getParentId())) {
            lineage.addFirst(s.getId());
            if (s.getParentId().isEmpty()) {
                return lineage;
            }
        }
    }
}
