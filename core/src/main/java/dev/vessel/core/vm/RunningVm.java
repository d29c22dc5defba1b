package dev.vessel.core.vm;

import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;

/** A running VM task, whose guest's isolators enforce and measure its limits, or a full VM. */
public interface RunningVm {
    /** Changes the VM's CPU weight on the host and the task's limits inside the guest (the VM's size stays). */
    void update(Resources resources) throws Exception;

    /** The task's statistics as the guest's isolators measure them. */
    ResourceStatistics usage() throws Exception;
}
