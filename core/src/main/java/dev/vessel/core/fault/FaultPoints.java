package dev.vessel.core.fault;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.locks.LockSupport;

/**
 * A test hook, off by default: named steps of a container's lifecycle where the daemon can be made
 * to stop dead, so that a fault-injection test SIGKILLs it exactly there and checks what the next
 * daemon recovers.
 *
 * <p>With {@code VESSEL_FAULT_POINT=<point>:<container id>} in the daemon's environment, the thread
 * that brings that container to that point writes the container's id to the file named by
 * {@code VESSEL_FAULT_MARKER} (renamed into place) and then parks forever, holding whatever it holds.
 * Without the variable (the default, and always in production) {@link #reach} does nothing.
 */
public final class FaultPoints {
    /** The image's rootfs is provisioned (mounted), before the container's first record. */
    public static final String AFTER_PROVISION = "after-provision";
    /** The CNI ADD of a container's networks succeeded, before the namespace is handed to the task. */
    public static final String AFTER_CNI_ADD = "after-cni-add";
    /**
     * A VM launch defined and started its domain, before the guest said hello; a full VM resumed from a snapshot:
     * its paused domain loaded the snapshot, before it runs.
     */
    public static final String DURING_VM_BOOT = "during-vm-boot";
    /** A destroy cleaned the isolators up, before the rootfs is released and the termination recorded. */
    public static final String MID_DESTROY = "mid-destroy";

    private static final String ARMED = System.getenv("VESSEL_FAULT_POINT");
    private static final String MARKER = System.getenv("VESSEL_FAULT_MARKER");

    private FaultPoints() {
    }

    /** Stops this thread for good if the daemon was started to stop {@code containerId} at {@code point}. */
    public static void reach(String point, String containerId) {
        if (ARMED == null || !ARMED.equals(point + ":" + containerId)) {
            return;
        }
        if (MARKER != null) {
            try {
                Path marker = Path.of(MARKER);
                Path tmp = marker.resolveSibling(marker.getFileName() + ".tmp");
                Files.writeString(tmp, containerId, StandardCharsets.UTF_8);
                Files.move(tmp, marker, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException("fault point " + point + ": cannot write " + MARKER, e);
            }
        }
        System.err.println("fault point " + point + " reached by container '" + containerId + "': parked until killed");
        while (true) {
            LockSupport.park(); // an interrupt only wakes it to park again: the test's SIGKILL ends it
        }
    }
}
