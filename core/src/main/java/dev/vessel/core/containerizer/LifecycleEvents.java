package dev.vessel.core.containerizer;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.LimitationReason;
import dev.vessel.core.model.Termination;
import dev.vessel.core.spi.ContainerEvent;
import dev.vessel.core.spi.ContainerEventListener;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** Turns the containerizer's changes into {@link ContainerEvent}s for its listener; a failing listener is logged, never felt. */
final class LifecycleEvents {
    private static final System.Logger LOG = System.getLogger(LifecycleEvents.class.getName());

    private final ContainerEventListener listener;

    LifecycleEvents(ContainerEventListener listener) {
        this.listener = listener;
    }

    void emit(Container c, String action) {
        emit(c, action, Map.of());
    }

    void emit(Container c, String action, Map<String, String> extra) {
        Map<String, String> attributes = new LinkedHashMap<>();
        ContainerConfig config = c.record.getConfig();
        String image = image(config);
        if (!image.isEmpty()) {
            attributes.put("image", image);
        }
        attributes.put("isolation", config.getIsolation().name().toLowerCase(Locale.ROOT));
        if (!config.getParentId().isEmpty()) {
            attributes.put("pod", config.getParentId());
        }
        attributes.putAll(extra);
        try {
            listener.event(new ContainerEvent(Instant.now(), ContainerEvent.CONTAINER, action, c.id, attributes));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "the event listener failed on ''{0}'' of ''{1}'': {2}", action, c.id, e.getMessage());
        }
    }

    /** The end of a run: {@code oom} first when the memory limit ended it, then {@code died} with its status. */
    void ended(Container c, Termination termination) {
        if (termination.hasLimitation() && termination.getLimitation().getReason() == LimitationReason.OOM) {
            emit(c, "oom");
        }
        int status = termination.getStatusCase() == Termination.StatusCase.SIGNAL
                ? 128 + termination.getSignal() : termination.getExitCode();
        emit(c, "died", Map.of("exit_code", Integer.toString(status),
                "reason", termination.getReason().name().toLowerCase(Locale.ROOT)));
    }

    /** {@code repository:tag}, a layout's path, or the host directory a task runs in. */
    static String image(ContainerConfig config) {
        if (!config.getHostRootfs().isEmpty()) {
            return config.getHostRootfs();
        }
        if (!config.hasImage()) {
            return "";
        }
        ImageReference image = config.getImage();
        String name = !image.getPath().isEmpty() ? image.getPath()
                : (image.getRegistry().isEmpty() ? "" : image.getRegistry() + "/") + image.getRepository();
        if (!image.getTag().isEmpty()) {
            return name + ":" + image.getTag();
        }
        return image.getDigest().isEmpty() ? name : name + "@" + image.getDigest();
    }
}
