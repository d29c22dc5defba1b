package dev.vessel.core.vm;

import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;

/** A running VM task, whose guest's isolators enforce and measure its limits. */
public interface RunningVm {
    /** Changes the task's limits inside the guest (the VM's own size stays as it booted). */
    void update(Resources resources) throws Exception;

    /** The task's statistics as the guest's isolators measure them. */
    ResourceStatistics usage() throws Exception;
}
