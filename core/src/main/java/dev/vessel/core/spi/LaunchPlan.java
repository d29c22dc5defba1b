package dev.vessel.core.spi;

import dev.vessel.core.model.LaunchInfo;

/** Everything a launcher needs to start a task: the container and the merged launch info. */
public record LaunchPlan(ContainerContext container, LaunchInfo launchInfo) {
}
