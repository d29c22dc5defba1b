package dev.vessel.node.api;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.core.spi.Containerizer;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * The containers whose config names a network or a volume (running or ended: an ended one would take it
 * again on {@code start}, podman's rule), and their forced removal for {@code rm -f}.
 */
final class ContainerUsers {
    private final Containerizer containerizer;

    ContainerUsers(Containerizer containerizer) {
        this.containerizer = containerizer;
    }

    /** The ids of the containers whose config matches. */
    List<String> of(Predicate<ContainerConfig> uses) {
        List<String> ids = new ArrayList<>();
        for (ContainerStatus status : containerizer.list()) {
            try {
                if (uses.test(containerizer.config(status.getId()))) {
                    ids.add(status.getId());
                }
            } catch (VesselException e) {
                if (e.code() != ErrorCode.NOT_FOUND) { // removed between the listing and this read
                    throw e;
                }
            }
        }
        return ids;
    }

    /** Ends and removes each container, a pod's members before it (as {@code DELETE /v1/pods/NAME?force=1}). */
    void removeAll(List<String> ids) {
        for (String id : ids) {
            for (ContainerStatus member : containerizer.list()) {
                if (member.getParentId().equals(id)) {
                    remove(member.getId());
                }
            }
            remove(id);
        }
    }

    private void remove(String id) {
        try {
            if (containerizer.status(id).getState() != ContainerState.TERMINATED) {
                containerizer.destroy(id);
            }
            containerizer.remove(id);
        } catch (VesselException e) {
            if (e.code() != ErrorCode.NOT_FOUND) { // gone already: a launch the destroy cancelled took it along
                throw e;
            }
        }
    }
}
