package dev.vessel.launcher.vm.domain;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.gpu.PciAddress;
import dev.vessel.core.vm.QemuUser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.UUID;

/**
 * Everything the domain of one VM task is made of, resolved and checked by the launcher before
 * libvirt is touched; {@link DomainXml} renders it.
 *
 * @param stateDir        the daemon's state dir, written into the domain's metadata so that two daemons
 *                        on one host never take each other's domains for orphans
 * @param rootfsMapped    whether the rootfs is shared in QEMU's mapped model (a view the {@code vm/rootfs}
 *                        isolator made of an image's rootfs) or passed through (a {@code host_rootfs});
 *                        a warm guest's share is both ({@link DomainXml#PASSTHROUGH_ROOTFS_TAG})
 * @param qemuUser        the unprivileged user QEMU runs as
 * @param software        the guest's software image, given to it as an NVDIMM (see {@link SoftwareImage}); none for
 *                        a guest whose initramfs holds everything
 * @param cpu             how the host schedules it: its CPU weight, and its pinning to host CPUs and NUMA nodes
 *                        ({@code resources.cpuset_*}), none for most
 * @param cgroupPartition the cgroup partition the domain's QEMU runs under (see {@link CgroupPartition})
 * @param volumes         the task's volume shares and disks, and what the guest mounts of them
 * @param nics            the guest's NICs, in order, each on a tap that exists before the domain starts
 * @param passthrough     the host PCI devices passed through to the guest (VFIO), none for most
 * @param rootfsServerSocket where the rootfs's file server listens when the rootfs reaches the guest by
 *                        virtio-fs ({@code vm.keep_rootfs_owners}; the guest's memory is then shared with it);
 *                        empty for a 9p share
 * @param tcgCodeCacheMib under TCG, the guest's translated-code cache in MiB; 0: QEMU's default
 * @param template        the guest's part in a guest template ({@link Template}): none for a guest that boots
 */
public record VmSpec(
        String containerId,
        Path stateDir,
        String domainName,
        UUID uuid,
        Accelerator accelerator,
        QemuUser qemuUser,
        long memoryBytes,
        int vcpus,
        CpuTuning cpu,
        Path kernel,
        Path initrd,
        String kernelCmdline,
        Optional<Software> software,
        Path rootfs,
        boolean rootfsMapped,
        Path agentSocket,
        Path consoleLog,
        String cgroupPartition,
        VmVolumes volumes,
        List<Nic> nics,
        Passthrough passthrough,
        Optional<Path> rootfsServerSocket,
        int tcgCodeCacheMib,
        Optional<Template> template) {

    /** A spec built field by field; {@link Builder} says what is optional. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this spec's fields, to change some of them. */
    public Builder toBuilder() {
        return new Builder().containerId(containerId).stateDir(stateDir).domainName(domainName).uuid(uuid)
                .accelerator(accelerator).qemuUser(qemuUser).memoryBytes(memoryBytes).vcpus(vcpus).cpu(cpu)
                .kernel(kernel).initrd(initrd).kernelCmdline(kernelCmdline).software(software).rootfs(rootfs)
                .rootfsMapped(rootfsMapped).agentSocket(agentSocket).consoleLog(consoleLog)
                .cgroupPartition(cgroupPartition).volumes(volumes).nics(nics).passthrough(passthrough)
                .rootfsServerSocket(rootfsServerSocket).tcgCodeCacheMib(tcgCodeCacheMib).template(template);
    }

    /**
     * Builds a {@link VmSpec}, every field by its name. Optional, with these defaults: no CPU pinning or weight, no
     * software image, no volumes, no NICs, no devices passed through, the rootfs shared by 9p (no file server), QEMU's
     * own TCG code cache, no template. The others are checked by the spec's constructor.
     */
    public static final class Builder {
        private String containerId;
        private Path stateDir;
        private String domainName;
        private UUID uuid;
        private Accelerator accelerator;
        private QemuUser qemuUser;
        private long memoryBytes;
        private int vcpus;
        private CpuTuning cpu = CpuTuning.NONE;
        private Path kernel;
        private Path initrd;
        private String kernelCmdline;
        private Optional<Software> software = Optional.empty();
        private Path rootfs;
        private boolean rootfsMapped;
        private Path agentSocket;
        private Path consoleLog;
        private String cgroupPartition;
        private VmVolumes volumes = VmVolumes.none();
        private List<Nic> nics = List.of();
        private Passthrough passthrough = Passthrough.NONE;
        private Optional<Path> rootfsServerSocket = Optional.empty();
        private int tcgCodeCacheMib;
        private Optional<Template> template = Optional.empty();

        private Builder() {
        }

        public Builder containerId(String containerId) {
            this.containerId = containerId;
            return this;
        }

        public Builder stateDir(Path stateDir) {
            this.stateDir = stateDir;
            return this;
        }

        public Builder domainName(String domainName) {
            this.domainName = domainName;
            return this;
        }

        public Builder uuid(UUID uuid) {
            this.uuid = uuid;
            return this;
        }

        public Builder accelerator(Accelerator accelerator) {
            this.accelerator = accelerator;
            return this;
        }

        public Builder qemuUser(QemuUser qemuUser) {
            this.qemuUser = qemuUser;
            return this;
        }

        public Builder memoryBytes(long memoryBytes) {
            this.memoryBytes = memoryBytes;
            return this;
        }

        public Builder vcpus(int vcpus) {
            this.vcpus = vcpus;
            return this;
        }

        public Builder cpu(CpuTuning cpu) {
            this.cpu = cpu;
            return this;
        }

        public Builder kernel(Path kernel) {
            this.kernel = kernel;
            return this;
        }

        public Builder initrd(Path initrd) {
            this.initrd = initrd;
            return this;
        }

        public Builder kernelCmdline(String kernelCmdline) {
            this.kernelCmdline = kernelCmdline;
            return this;
        }

        public Builder software(Optional<Software> software) {
            this.software = software;
            return this;
        }

        public Builder rootfs(Path rootfs) {
            this.rootfs = rootfs;
            return this;
        }

        public Builder rootfsMapped(boolean rootfsMapped) {
            this.rootfsMapped = rootfsMapped;
            return this;
        }

        public Builder agentSocket(Path agentSocket) {
            this.agentSocket = agentSocket;
            return this;
        }

        public Builder consoleLog(Path consoleLog) {
            this.consoleLog = consoleLog;
            return this;
        }

        public Builder cgroupPartition(String cgroupPartition) {
            this.cgroupPartition = cgroupPartition;
            return this;
        }

        public Builder volumes(VmVolumes volumes) {
            this.volumes = volumes;
            return this;
        }

        public Builder nics(List<Nic> nics) {
            this.nics = nics;
            return this;
        }

        public Builder passthrough(Passthrough passthrough) {
            this.passthrough = passthrough;
            return this;
        }

        public Builder rootfsServerSocket(Optional<Path> rootfsServerSocket) {
            this.rootfsServerSocket = rootfsServerSocket;
            return this;
        }

        public Builder tcgCodeCacheMib(int tcgCodeCacheMib) {
            this.tcgCodeCacheMib = tcgCodeCacheMib;
            return this;
        }

        public Builder template(Optional<Template> template) {
            this.template = template;
            return this;
        }

        public VmSpec build() {
            return new VmSpec(containerId, stateDir, domainName, uuid, accelerator, qemuUser, memoryBytes, vcpus,
                    cpu, kernel,
                    initrd, kernelCmdline, software, rootfs, rootfsMapped, agentSocket, consoleLog, cgroupPartition,
                    volumes, nics, passthrough, rootfsServerSocket, tcgCodeCacheMib, template);
        }
    }

    /** The software image's copy that QEMU maps, and its size: the NVDIMM's. */
    public record Software(Path image, long sizeBytes) {
        public Software {
            Objects.requireNonNull(image, "image");
            if (sizeBytes <= 0 || sizeBytes % SoftwareImage.ALIGNMENT_BYTES != 0) {
                throw new IllegalArgumentException("a software image is a positive number of whole 2 MiB, not "
                        + sizeBytes + " bytes");
            }
        }
    }

    /** A virtio NIC with this MAC on the host's existing tap {@code tap} (made by the {@code vm/network} isolator). */
    public record Nic(String tap, String mac) {
        public Nic {
            Objects.requireNonNull(tap, "tap");
            Objects.requireNonNull(mac, "mac");
        }
    }

    /**
     * Host PCI functions given to the guest by VFIO (every device of each GPU's IOMMU group) and the 64-bit
     * MMIO window their BARs need ({@code vm/gpu} decided both).
     */
    public record Passthrough(List<PciAddress> devices, long mmio64WindowBytes) {
        public static final Passthrough NONE = new Passthrough(List.of(), 0);

        public Passthrough {
            devices = List.copyOf(devices);
        }

        public boolean none() {
            return devices.isEmpty();
        }
    }

    public VmSpec {
        Objects.requireNonNull(containerId, "containerId");
        Objects.requireNonNull(stateDir, "stateDir");
        Objects.requireNonNull(cpu, "cpu");
        Objects.requireNonNull(domainName, "domainName");
        Objects.requireNonNull(uuid, "uuid");
        Objects.requireNonNull(accelerator, "accelerator");
        Objects.requireNonNull(qemuUser, "qemuUser");
        Objects.requireNonNull(kernel, "kernel");
        Objects.requireNonNull(initrd, "initrd");
        Objects.requireNonNull(kernelCmdline, "kernelCmdline");
        Objects.requireNonNull(software, "software");
        Objects.requireNonNull(rootfs, "rootfs");
        Objects.requireNonNull(agentSocket, "agentSocket");
        Objects.requireNonNull(consoleLog, "consoleLog");
        Objects.requireNonNull(cgroupPartition, "cgroupPartition");
        Objects.requireNonNull(volumes, "volumes");
        nics = List.copyOf(nics);
        Objects.requireNonNull(passthrough, "passthrough");
        Objects.requireNonNull(rootfsServerSocket, "rootfsServerSocket");
        if (tcgCodeCacheMib < 0) {
            throw new IllegalArgumentException("tcgCodeCacheMib must not be negative");
        }
        if (accelerator == Accelerator.AUTO) {
            throw new IllegalArgumentException("the accelerator must be resolved to KVM or TCG");
        }
        Objects.requireNonNull(template, "template");
        if (template.isPresent() && software.isEmpty()) {
            throw new IllegalArgumentException("a template's guest maps the software image (its RAM is what is saved)");
        }
    }

    /**
     * A guest's part in a guest template: the guest the template is saved from ({@link Role#BUILD}), or one
     * restored from it ({@link Role#CLONE}). Either runs QEMU through {@code wrapper}, which gives the guest's
     * RAM the template's memory file under {@code dir} (see {@code template.TemplateWrapper}).
     */
    public record Template(Role role, Path wrapper, Path dir) {
        public enum Role {
            BUILD, CLONE
        }

        public Template {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(wrapper, "wrapper");
            Objects.requireNonNull(dir, "dir");
        }
    }

    /**
     * The root filesystem the guest shares as the task's root, as the launch info names it; refused,
     * naming the field {@code root}, unless it is a directory. The one check of a VM task's rootfs:
     * a launcher can be asked to fork without the {@code vm/rootfs} isolator having run.
     */
    public static Path requireRootfs(String rootfs) {
        if (rootfs.isEmpty() || !Files.isDirectory(Path.of(rootfs))) {
            throw VesselException.invalid("root", rootfs.isEmpty()
                    ? "a VM task needs a root filesystem (an image or host_rootfs) to share with its guest"
                    : "the root filesystem " + rootfs + " is not a directory");
        }
        return Path.of(rootfs);
    }
}
