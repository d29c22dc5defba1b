package dev.vessel.launcher.vm.machine;

import java.time.Instant;

/**
 * One internal snapshot of a qcow2 disk, as qemu-img lists it.
 *
 * @param name         its tag
 * @param created      when it was taken (the host's clock)
 * @param vmStateBytes the guest memory (and devices' state) saved with it: 0 for a snapshot of the disk alone
 */
public record DiskSnapshot(String name, Instant created, long vmStateBytes) {
}
