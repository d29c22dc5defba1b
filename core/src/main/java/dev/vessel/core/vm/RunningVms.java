package dev.vessel.core.vm;

import java.util.Optional;

/**
 * The VM tasks whose guests run now, as the host-side isolators reach them (the VM launcher's), so
 * that those isolators need not know the launcher.
 */
public interface RunningVms {
    /** The task of a container whose VM runs now. */
    Optional<? extends RunningVm> runningTask(String containerId);
}
