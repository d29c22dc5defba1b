package dev.vessel.launcher.vm.pool;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.network.NetworkNames;
import dev.vessel.launcher.vm.domain.VmSpec;

/**
 * Which tasks a guest made before them (a warm guest, a template's clone) can serve: one whose domain would be
 * that guest's. No VM options of its own (kernel, initramfs, command line, size, disks), no volumes or networks
 * (devices a guest gets at boot), no devices passed through, no CPU pinning, a rootfs shared by 9p (not served with
 * its owners), and a derived VM size within the guest's memory and vCPUs. The task's own limits are then enforced
 * inside the guest by its cgroups, as in any VM, and its CPU weight is given to the guest's domain.
 */
public final class GuestFit {
    private GuestFit() {
    }

    public static boolean fits(VmSpec spec, ContainerConfig config, long memoryBytes, int vcpus) {
        return config.getVm().equals(VmOptions.getDefaultInstance())
                && config.getVolumesCount() == 0
                && spec.volumes().shares().isEmpty() // a task with uris: its sandbox is a share such a guest lacks
                && NetworkNames.cniAttachments(config).isEmpty()
                && spec.passthrough().none()
                && !spec.cpu().pinned() // a guest made before its task runs wherever the host put it
                && spec.rootfsServerSocket().isEmpty()
                && spec.memoryBytes() <= memoryBytes
                && spec.vcpus() <= vcpus;
    }
}
