package dev.vessel.launcher.vm.domain;

import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.vm.machine.BaseImage;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * Everything the domain of one full VM (a machine: firmware, the image's boot loader and kernel,
 * cloud-init) is made of, resolved and checked before libvirt is touched; {@link MachineDomainXml}
 * renders it.
 *
 * @param disk  the machine's own qcow2 overlay on {@code base}, its root disk ({@code vda})
 * @param seed  the NoCloud seed ISO, attached as a last, read-only virtio disk; empty: none
 * @param disks the container's further {@code vm.disks}, {@code vdb} onwards
 * @param passthrough the host PCI devices passed through to it (VFIO), none for most
 * @param cpu how the host schedules it: pinned to host CPUs and NUMA nodes ({@code resources.cpuset_*}), none for most,
 *            and its CPU weight
 */
public record MachineSpec(
        String containerId,
        Path stateDir,
        String domainName,
        UUID uuid,
        Accelerator accelerator,
        QemuUser qemuUser,
        long memoryBytes,
        int vcpus,
        CpuTuning cpu,
        Path disk,
        BaseImage base,
        Optional<Path> seed,
        Path consoleLog,
        String cgroupPartition,
        List<VmVolumes.AttachedDisk> disks,
        List<VmSpec.Nic> nics,
        VmSpec.Passthrough passthrough) {

    public MachineSpec {
        Objects.requireNonNull(containerId, "containerId");
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(domainName, "domainName");
        Objects.requireNonNull(uuid, "uuid");
        Objects.requireNonNull(qemuUser, "qemuUser");
        Objects.requireNonNull(cpu, "cpu");
        Objects.requireNonNull(disk, "disk");
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(seed, "seed");
        Objects.requireNonNull(consoleLog, "consoleLog");
        Objects.requireNonNull(cgroupPartition, "cgroupPartition");
        disks = List.copyOf(disks);
        nics = List.copyOf(nics);
        Objects.requireNonNull(passthrough, "passthrough");
        if (accelerator == Accelerator.AUTO) {
            throw new IllegalArgumentException("the accelerator must be resolved to KVM or TCG");
        }
    }
}
