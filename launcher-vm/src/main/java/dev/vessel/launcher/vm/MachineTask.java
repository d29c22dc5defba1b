package dev.vessel.launcher.vm;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.vm.RunningVm;
import dev.vessel.launcher.vm.domain.CgroupPartition;
import dev.vessel.launcher.vm.domain.LibvirtDomains;
import dev.vessel.launcher.vm.domain.QemuProcess;
import dev.vessel.linux.ProcStat;
import dev.vessel.linux.ProcessMemory;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * A full VM as the containerizer sees a task: its QEMU is the task's process, the VM powering off
 * (QEMU exiting) is its end, with exit code 0. SIGTERM and SIGINT press the ACPI power button (an
 * orderly shutdown the guest may take its time over); SIGKILL pulls the plug. A guest reboot is no
 * end: libvirt restarts the same QEMU's machine. An update changes its CPU weight on the host; its vCPUs and memory
 * are its machine's, as it booted. Its usage is its QEMU's.
 */
final class MachineTask implements LaunchedTask, RunningVm {
    private static final int SIGINT = 2;
    private static final int SIGKILL = 9;
    private static final int SIGTERM = 15;

    private final String containerId;
    private final String domainUuid;
    private final LibvirtDomains libvirt;
    /** Where its domain's cgroups are: how its CPU weight is given to libvirt. */
    private final CgroupPartition partition;
    private final QemuProcess qemu;
    private static final long GONE_POLL_MS = 50;
    private static final long GONE_TIMEOUT_MS = 60_000;

    private final CompletableFuture<Termination> exit;
    /** Set before Vessel itself pulls the plug: the end is then a kill, not the guest's poweroff. */
    private volatile boolean killed;

    MachineTask(String containerId, String domainUuid, LibvirtDomains libvirt, CgroupPartition partition,
            QemuProcess qemu) {
        this.containerId = containerId;
        this.domainUuid = domainUuid;
        this.libvirt = libvirt;
        this.partition = partition;
        this.qemu = qemu;
        // Ended once libvirt has let go of the domain too, not only once QEMU exited: libvirt reaps QEMU a
        // moment later, and until then the domain's name is taken (the next boot of this VM uses it).
        this.exit = qemu.exited().thenApplyAsync(gone -> {
            awaitDomainGone();
            return killed
                    ? Termination.newBuilder().setReason(TerminationReason.KILLED).setSignal(SIGKILL).build()
                    : Termination.newBuilder().setReason(TerminationReason.EXITED).setExitCode(0)
                            .setMessage("the VM powered off").build();
        });
    }

    private void awaitDomainGone() {
        long deadline = System.currentTimeMillis() + GONE_TIMEOUT_MS;
        try {
            while (libvirt.exists(domainUuid) && System.currentTimeMillis() < deadline) {
                Thread.sleep(GONE_POLL_MS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** A machine whose domain was gone when the daemon came back: how it ended is not known. */
    static LaunchedTask ended(String containerId) {
        return new LaunchedTask() {
            @Override
            public long pid() {
                return 0;
            }

            @Override
            public void release() {
            }

            @Override
            public CompletableFuture<Termination> exit() {
                return CompletableFuture.completedFuture(Termination.newBuilder().setReason(TerminationReason.LOST)
                        .setMessage("the VM of " + containerId + " ended while the daemon was down").build());
            }

            @Override
            public void signal(int signal) {
            }

            @Override
            public void destroy() {
            }
        };
    }

    @Override
    public long pid() {
        return qemu.pid();
    }

    @Override
    public void release() {
        // the machine runs from the start: nothing waits for the isolators inside it
    }

    @Override
    public CompletableFuture<Termination> exit() {
        return exit;
    }

    @Override
    public void signal(int signal) {
        switch (signal) {
            case SIGTERM, SIGINT -> libvirt.shutdown(domainUuid);
            case SIGKILL -> {
                killed = true;
                libvirt.destroy(domainUuid);
            }
            default -> throw VesselException.invalid("signal", "a full VM takes SIGTERM or SIGINT (an ACPI shutdown)"
                    + " and SIGKILL (power off at once), not signal " + signal + " (" + containerId + ")");
        }
    }

    /** Its CPU weight and limit on the host, at once (the validator lets nothing else change). */
    @Override
    public void update(Resources resources) {
        libvirt.setCpuWeight(domainUuid, partition.cpuWeight(resources));
        libvirt.setCpuLimit(domainUuid, resources.getCpus());
    }

    /**
     * Its QEMU as the host sees it: the CPU time of its vCPUs and its emulator's own threads, and its resident memory
     * (what runs in the guest is its own, measured by no isolator of Vessel's). None once QEMU is gone.
     */
    @Override
    public ResourceStatistics usage() {
        Optional<ProcStat> cpu = ProcStat.of(qemu.pid());
        try {
            if (cpu.isPresent()) {
                return ResourceStatistics.newBuilder().setCpuUserSeconds(cpu.get().userSeconds())
                        .setCpuSystemSeconds(cpu.get().systemSeconds())
                        .setMemoryUsageBytes(ProcessMemory.of(qemu.pid()).rssBytes()).build();
            }
        } catch (IOException e) {
            // it ended meanwhile
        }
        return ResourceStatistics.getDefaultInstance();
    }

    @Override
    public void destroy() throws Exception {
        killed = !qemu.exited().isDone();
        libvirt.destroy(domainUuid);
        exit.get();
    }
}
