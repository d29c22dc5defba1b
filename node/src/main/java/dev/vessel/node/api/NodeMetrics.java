package dev.vessel.node.api;

import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.ContainerStatus;
import dev.vessel.linux.ProcessMemory;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

/** The node's counters since the daemon started, and their Prometheus text form. */
final class NodeMetrics {
    private final AtomicLong launches = new AtomicLong();
    private final AtomicLong launchFailures = new AtomicLong();

    void launched() {
        launches.incrementAndGet();
    }

    void launchFailed() {
        launchFailures.incrementAndGet();
    }

    /** Prometheus text exposition format 0.0.4. */
    String render(List<ContainerStatus> containers, int warmGuestsReady, ProcessMemory warmGuestsMemory,
            boolean templateReady) {
        Map<ContainerState, Integer> byState = new EnumMap<>(ContainerState.class);
        for (ContainerState s : ContainerState.values()) {
            if (s != ContainerState.CONTAINER_STATE_UNSPECIFIED && s != ContainerState.UNRECOGNIZED) {
                byState.put(s, 0);
            }
        }
        containers.forEach(c -> byState.merge(c.getState(), 1, Integer::sum));
        StringBuilder out = new StringBuilder();
        out.append("# HELP vessel_containers Containers on this node by state.\n# TYPE vessel_containers gauge\n");
        byState.forEach((state, n) -> out.append("vessel_containers{state=\"")
                .append(state.name().toLowerCase(Locale.ROOT)).append("\"} ").append(n).append('\n'));
        out.append("# HELP vessel_containers_cleanup_failed Containers kept because their cleanup failed; retried.\n")
                .append("# TYPE vessel_containers_cleanup_failed gauge\n")
                .append("vessel_containers_cleanup_failed ")
                .append(containers.stream().filter(c -> !c.getCleanupError().isEmpty()).count()).append('\n');
        out.append("# HELP vessel_container_launches_total Containers launched since the daemon started.\n")
                .append("# TYPE vessel_container_launches_total counter\n")
                .append("vessel_container_launches_total ").append(launches.get()).append('\n');
        out.append("# HELP vessel_container_launch_failures_total Valid launch requests that failed since the daemon started.\n")
                .append("# TYPE vessel_container_launch_failures_total counter\n")
                .append("vessel_container_launch_failures_total ").append(launchFailures.get()).append('\n');
        out.append("# HELP vessel_vm_warm_guests_ready VM guests booted ahead of demand, waiting for a task.\n")
                .append("# TYPE vessel_vm_warm_guests_ready gauge\n")
                .append("vessel_vm_warm_guests_ready ").append(warmGuestsReady).append('\n');
        out.append("# HELP vessel_vm_warm_guests_rss_bytes Host memory resident in the waiting warm guests' QEMUs.\n")
                .append("# TYPE vessel_vm_warm_guests_rss_bytes gauge\n")
                .append("vessel_vm_warm_guests_rss_bytes ").append(warmGuestsMemory.rssBytes()).append('\n');
        out.append("# HELP vessel_vm_warm_guests_pss_bytes Their proportional set: pages they share counted once.\n")
                .append("# TYPE vessel_vm_warm_guests_pss_bytes gauge\n")
                .append("vessel_vm_warm_guests_pss_bytes ").append(warmGuestsMemory.pssBytes()).append('\n');
        out.append("# HELP vessel_vm_template_ready 1 while a guest template is saved that VM tasks are restored from.\n")
                .append("# TYPE vessel_vm_template_ready gauge\n")
                .append("vessel_vm_template_ready ").append(templateReady ? 1 : 0).append('\n');
        return out.toString();
    }
}
