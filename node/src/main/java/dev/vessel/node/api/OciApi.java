package dev.vessel.node.api;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.hooks.ContainerHooks;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.spi.Containerizer;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.node.oci.BundleConfig;
import dev.vessel.node.oci.OciHooks;
import dev.vessel.node.oci.OciResources;
import dev.vessel.node.oci.OciState;
import dev.vessel.node.oci.ShimCgroup;
import dev.vessel.node.oci.ShimNamespaces;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;

/**
 * {@code /v1/oci/containers}: what {@code vessel-runtime} asks beyond the plain container API, so that the
 * runtime, a new process on every call, parses no JSON: a bundle created (with its prestart and createRuntime
 * hooks), started (with its poststart hooks),
 * the OCI state, runc's list, runc's update (OCI resources), runc's stats event and runc's rule for delete (with its
 * poststop hooks).
 * Kill, pause, resume and the processes (runc's ps) are the plain API's.
 */
final class OciApi {
    private static final System.Logger LOG = System.getLogger(OciApi.class.getName());
    private final ContainersApi containers;
    private final Containerizer containerizer;

    /** Read at the first shim's attach, not at the daemon's start, which needs them for no OCI container. */
    private volatile CgroupHierarchies hierarchies;

    OciApi(ContainersApi containers, Containerizer containerizer) {
        this.containers = containers;
        this.containerizer = containerizer;
    }

    /**
     * The engine's shim attaching (it then relays as any attach does): it joins its process container's
     * accounting cgroup ({@link ShimCgroup}), where an engine that takes the pid file's process for the
     * container looks. A VM container's task is its QEMU, in libvirt's cgroups, which stay libvirt's.
     */
    void adoptShim(Exchange ex) {
        String id = ex.param("id");
        ContainerStatus status = containerizer.status(id);
        OptionalLong shim = ex.peerPid();
        if (containerizer.config(id).getIsolation() != Isolation.PROCESS || status.getPid() <= 0 || shim.isEmpty()) {
            return;
        }
        try {
            if (hierarchies == null) {
                hierarchies = CgroupHierarchies.detect();
            }
            ShimCgroup.join(hierarchies, status.getPid(), shim.getAsLong());
        } catch (IOException e) {
            // the task ended meanwhile (its cgroup went with it): the attach reports its end
            LOG.log(System.Logger.Level.DEBUG, "shim {0} of {1} not moved: {2}", shim.getAsLong(), id, e.getMessage());
        }
    }

    /**
     * {@code {"id", "bundle", "isolation", "interactive", "console_socket"}}: the bundle's config.json translated,
     * the container CREATED; answers its state. {@code isolation} ({@code vm} or {@code process}, the default) is
     * the runtime's default, which the bundle's annotation overrides. {@code interactive}: the runtime's caller
     * gave it a stdin, which its shim forwards (runc's container reads the stdin it is given).
     * {@code console_socket}: the caller gave one, which is where a terminal goes, and only a terminal (runc's rule).
     * {@code terminal_stdio}: the caller relays a terminal on its own stdio instead (runc's foreground {@code run}
     * on the user's terminal). The answer also says {@code "terminal": true} when the process has one.
     */
    void create(Exchange ex) throws IOException {
        ObjectNode body = ProtoJson.readObject(ex.body());
        String id = body.path("id").asText("");
        String bundle = body.path("bundle").asText("");
        Isolation isolation = switch (body.path("isolation").asText("process")) {
            case "process" -> Isolation.PROCESS;
            case "vm" -> Isolation.VM;
            default -> throw VesselException.invalid("isolation", Quoted.of(body.path("isolation").asText())
                    + " is not an isolation: vm or process");
        };
        // another container's namespaces, as the engine names them: by its shim's pid
        ContainerConfig read = ShimNamespaces.resolve(BundleConfig.read(id, Path.of(bundle), isolation),
                containerizer.list());
        consoleSocket(read.getTty(), body, "config.json: process.terminal");
        ContainerConfig config = read.toBuilder()
                .setInteractive(read.getInteractive() || body.path("interactive").asBoolean(false)).build();
        ContainerStatus status = containers.launch(config, false);
        ContainerConfig stored = containerizer.config(id);
        createHooks(status, stored);
        ObjectNode state = OciState.of(status, stored);
        if (stored.getTty()) {
            state.put("terminal", true);
        }
        ex.json(HttpResponseStatus.CREATED, state.toString());
    }

    /**
     * prestart and createRuntime on the host, then createContainer in the task's namespaces, once the task is
     * CREATED, with the state runc gives them (its pid, status "creating"); one that fails leaves no container
     * behind, and the create answers its failure.
     */
    private void createHooks(ContainerStatus status, ContainerConfig config) {
        String state = OciState.of(status, config).put("status", "creating").put("pid", status.getPid()).toString();
        try {
            OciHooks.runCreate(config, state, status.getPid());
        } catch (RuntimeException e) {
            try {
                containerizer.destroy(config.getId());
                containerizer.remove(config.getId());
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /**
     * Runs the startContainer hooks of a CREATED container inside it, then its program, then its poststart hooks. Only a created container starts
     * (runc's rule; the plain API's start also runs an ended one again).
     */
    void start(Exchange ex) {
        String id = ex.param("id");
        ContainerState now = containerizer.status(id).getState();
        if (now != ContainerState.CREATED) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, id, "cannot start container " + Quoted.of(id)
                    + ": it is " + now + ", not CREATED");
        }
        ContainerConfig config = containerizer.config(id);
        try {
            if (config.getIsolation() == Isolation.PROCESS) { // a VM's guest runs them between its task's create and start
                ContainerHooks.runInside("startContainer", containerizer, config,
                        OciState.of(containerizer.status(id), config).toString());
            }
        } catch (RuntimeException e) {
            try {
                containerizer.destroy(id); // stopped, as runc leaves a container whose start hook failed
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        ContainerStatus status = containerizer.start(id);
        ObjectNode state = OciState.of(status, config);
        OciHooks.run("poststart", config, state.toString());
        ex.json(HttpResponseStatus.OK, state.toString());
    }

    /**
     * {@code {"process": {…}}}, runc exec's process, or {@code {"args": […]}}, a command run as the container's
     * user, in its working directory and environment, and {@code "interactive"} as for a create: an exec of the
     * container, created (not started: its caller attaches to its start, so no output is lost); answers its status.
     */
    void exec(Exchange ex) throws IOException {
        String id = ex.param("id");
        ObjectNode body = ProtoJson.readObject(ex.body());
        ExecConfig exec = body.has("process") ? BundleConfig.execConfig(containerizer.config(id), body.get("process"))
                : ExecConfig.newBuilder().addAllCommand(body.path("args").valueStream().map(a -> a.asText()).toList())
                        .setTty(body.path("tty").asBoolean(false)).build();
        consoleSocket(exec.getTty(), body, body.has("process") ? "process.terminal" : "tty");
        exec = exec.toBuilder().setInteractive(exec.getTty() || body.path("interactive").asBoolean(false)).build();
        ex.json(HttpResponseStatus.CREATED, ProtoJson.print(containerizer.execCreate(id, exec)));
    }

    /**
     * A terminal goes to the caller's console socket, or to its own stdio when it relays in the foreground; a
     * terminal with neither, or a socket without a terminal, is refused, as runc refuses them.
     */
    private static void consoleSocket(boolean terminal, ObjectNode body, String field) {
        boolean socket = body.path("console_socket").asBoolean(false);
        if (terminal && !socket && !body.path("terminal_stdio").asBoolean(false)) {
            throw VesselException.invalid(field, "a terminal needs --console-socket when detached: the engine takes"
                    + " its master there");
        }
        if (socket && !terminal) {
            throw VesselException.invalid(field, "--console-socket is given for a terminal, and " + field
                    + " asks for none");
        }
    }

    /**
     * runc's {@code update}: an OCI {@code linux.resources} object, whose fields replace the container's limits
     * (those it leaves out are kept), applied to its live cgroups and kept in its config. A field Vessel cannot
     * honour is refused by its JSON path, and nothing changes.
     */
    void update(Exchange ex) throws IOException {
        String id = ex.param("id");
        ContainerConfig config = containerizer.config(id);
        containerizer.update(id, OciResources.update(config.getResources(), ProtoJson.readObject(ex.body())));
        ex.json(HttpResponseStatus.OK, OciState.of(containerizer.status(id), containerizer.config(id)).toString());
    }

    /** runc's {@code events --stats} line for a running (or paused) container. */
    void stats(Exchange ex) {
        String id = ex.param("id");
        ex.json(HttpResponseStatus.OK, OciState.statsEvent(id, containerizer.usage(id)));
    }

    void state(Exchange ex) {
        String id = ex.param("id");
        ex.json(HttpResponseStatus.OK, OciState.of(containerizer.status(id), containerizer.config(id)).toString());
    }

    /** {@code ?format=json} as runc's {@code list --format json}, else runc's table. */
    void list(Exchange ex) {
        List<ContainerStatus> statuses = new ArrayList<>();
        List<ContainerConfig> configs = new ArrayList<>();
        for (ContainerStatus status : containerizer.list()) {
            try {
                configs.add(containerizer.config(status.getId()));
                statuses.add(status);
            } catch (VesselException e) {
                if (e.code() != ErrorCode.NOT_FOUND) { // else removed in between
                    throw e;
                }
            }
        }
        if (ex.query("format").map("json"::equals).orElse(false)) {
            ex.json(HttpResponseStatus.OK, OciState.listJson(statuses, configs));
        } else {
            ex.text(HttpResponseStatus.OK, "text/plain", OciState.listTable(statuses, configs));
        }
    }

    /**
     * runc's rule: a stopped or created container is removed (a created one killed first), a running one only
     * with {@code ?force=1}.
     */
    void delete(Exchange ex) {
        String id = ex.param("id");
        ContainerStatus status = containerizer.status(id);
        String oci = OciState.status(status.getState());
        if ((oci.equals("running") || oci.equals("paused")) && !ex.flag("force")) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, id, "cannot delete container " + Quoted.of(id)
                    + " that is not stopped: " + oci);
        }
        ContainerConfig config = containerizer.config(id);
        if (status.getState() != ContainerState.TERMINATED) {
            containerizer.destroy(id);
        }
        String stopped = OciState.of(containerizer.status(id), config).toString();
        containerizer.remove(id);
        OciHooks.run("poststop", config, stopped);
        ex.json(HttpResponseStatus.OK, "{\"id\":\"" + id + "\"}");
    }
}
