package dev.vessel.launcher.vm.domain;

import dev.vessel.core.cpu.CpuQuota;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.libvirt.Connect;
import org.libvirt.Domain;
import org.libvirt.Error.ErrorNumber;
import org.libvirt.ErrorCallback;
import org.libvirt.LibvirtException;
import org.libvirt.SchedLongParameter;
import org.libvirt.SchedParameter;
import org.libvirt.SchedUlongParameter;

/**
 * The launcher's view of libvirt: create a transient domain, find one of ours again, destroy it, and
 * list every domain carrying Vessel's metadata. One connection, opened on first use (libvirt
 * connections are thread-safe).
 */
public final class LibvirtDomains implements AutoCloseable {
    /** A domain of ours as libvirt lists it. */
    public record Found(String name, String uuid, DomainMetadata metadata) {
    }

    /**
     * libvirt prints every error to stderr unless a handler is set; its errors reach us as exceptions
     * anyway (a domain already gone is routine). Held here: JNA must not lose the callback to the GC.
     */
    private static final ErrorCallback SILENT = new ErrorCallback();

    /** How long {@link #close} waits for destroys still running in the background. */
    private static final long CLOSE_WAIT_SECONDS = 30;

    private final String uri;
    private final Set<CompletableFuture<Void>> destroying = ConcurrentHashMap.newKeySet();
    private static final Pattern X86_64_EMULATOR =
            Pattern.compile("<arch name='x86_64'>.*?<emulator>([^<]+)</emulator>", Pattern.DOTALL);
    private Connect connection;

    public LibvirtDomains(String uri) {
        this.uri = uri;
    }

    private synchronized Connect connection() {
        if (connection == null) {
            try {
                Connect.setErrorCallback(SILENT);
                connection = new Connect(uri);
            } catch (LibvirtException e) {
                throw new VesselException(ErrorCode.UNAVAILABLE, "vm", "cannot connect to libvirt at " + uri
                        + " (is libvirtd running?): " + e.getMessage(), e);
            }
        }
        return connection;
    }

    /** Starts a transient domain (gone from libvirt once destroyed); libvirt validates the XML first. */
    public String create(String xml) {
        return create(xml, Domain.CreateFlags.VALIDATE);
    }

    /** {@link #create}, its vCPUs paused before the first instruction until {@link #resume}. */
    public String createPaused(String xml) {
        return create(xml, Domain.CreateFlags.VALIDATE | Domain.CreateFlags.PAUSED);
    }

    /** Lets the paused domain with this uuid run. */
    public void resume(String uuid) {
        boolean found = withDomain(uuid, "resume", false, domain -> {
            domain.resume();
            return true;
        });
        if (!found) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "vm", "cannot resume domain " + uuid
                    + ": it is gone");
        }
    }

    private String create(String xml, int flags) {
        try {
            Domain domain = connection().domainCreateXML(xml, flags);
            try {
                return domain.getUUIDString();
            } finally {
                domain.free();
            }
        } catch (LibvirtException e) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "libvirt refused to start the domain: "
                    + e.getMessage(), e);
        }
    }

    /**
     * The QEMU libvirt runs for an x86_64 guest when a domain names no emulator (its capabilities' first
     * {@code <emulator>} of that arch).
     */
    public Path emulator() {
        String capabilities;
        try {
            capabilities = connection().getCapabilities();
        } catch (LibvirtException e) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "vm", "cannot read libvirt's capabilities: "
                    + e.getMessage(), e);
        }
        Matcher found = X86_64_EMULATOR.matcher(capabilities);
        if (!found.find()) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "vm", "libvirt lists no QEMU for x86_64 guests");
        }
        return Path.of(found.group(1));
    }

    /** Whether libvirt still knows the domain with this uuid at all (a transient one goes once QEMU is reaped). */
    public boolean exists(String uuid) {
        return withDomain(uuid, "look up", false, domain -> true);
    }

    /** Whether the domain with this uuid exists and runs. */
    public boolean isActive(String uuid) {
        return withDomain(uuid, "look up", false, domain -> domain.isActive() == 1);
    }

    /** Stops the domain with this uuid at once (and forgets it, were it persistent); nothing if gone. */
    public void destroy(String uuid) {
        withDomain(uuid, "destroy", null, domain -> {
            if (domain.isActive() == 1) {
                domain.destroy();
            }
            if (domain.isPersistent() == 1) {
                domain.undefine();
            }
            return null;
        });
    }

    /** Asks the guest to power off (an ACPI power button press); returns at once. Nothing if it is gone. */
    public void shutdown(String uuid) {
        withDomain(uuid, "shut down", null, domain -> {
            if (domain.isActive() == 1) {
                domain.shutdown();
            }
            return null;
        });
    }

    /**
     * {@link #destroy} on a thread of its own. libvirt returns from a destroy only once QEMU has been
     * reaped, which takes a second or more where PID 1 reaps slowly, though QEMU itself is gone
     * within milliseconds: a caller that only needs QEMU gone watches its pidfd and lets this finish
     * behind it. {@link #close} waits for these.
     */
    public CompletableFuture<Void> destroyInBackground(String uuid) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        destroying.add(done);
        // A platform thread: the JNA call blocks for that second, which would pin a virtual thread's carrier.
        Thread.ofPlatform().daemon().name("destroy-" + uuid).start(() -> {
            try {
                destroy(uuid);
                done.complete(null);
            } catch (RuntimeException | Error e) {
                done.completeExceptionally(e);
            } finally {
                destroying.remove(done);
            }
        });
        return done;
    }

    /**
     * Sets the running domain's CPU weight (its {@code <cputune><shares>}, in the units
     * {@link CgroupPartition#cpuWeight} gives) in its cgroup at once. Fails when the domain is gone: a caller
     * changes the weight of a VM it holds.
     */
    public void setCpuWeight(String uuid, long weight) {
        SchedUlongParameter shares = new SchedUlongParameter(weight);
        shares.field = "cpu_shares";
        setScheduler(uuid, "the CPU weight", shares);
    }

    /**
     * Caps the running domain at {@code cpus} CPUs at once, or lifts its cap (0): a CFS quota on its cgroup, so
     * its vCPUs and QEMU's own threads together ({@code <cputune><global_quota>}), however the guest schedules.
     */
    public void setCpuLimit(String uuid, double cpus) {
        SchedUlongParameter period = new SchedUlongParameter(CpuQuota.PERIOD_US);
        period.field = "global_period";
        SchedLongParameter quota = new SchedLongParameter(CpuQuota.quotaUs(cpus));
        quota.field = "global_quota";
        setScheduler(uuid, "the CPU limit", period);
        setScheduler(uuid, "the CPU limit", quota);
    }

    /** One parameter a call: libvirt-java cannot pass an array of them (its JNA structures are not contiguous). */
    private void setScheduler(String uuid, String what, SchedParameter parameter) {
        boolean found = withDomain(uuid, "set " + what + " of", false, domain -> {
            domain.setSchedulerParameters(new SchedParameter[] {parameter});
            return true;
        });
        if (!found) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "vm", "cannot set " + what + " of domain "
                    + uuid + ": it is gone");
        }
    }

    /** Every domain (running or defined) whose metadata marks it as Vessel's. */
    public List<Found> vesselDomains() {
        List<Found> found = new ArrayList<>();
        try {
            for (Domain domain : connection().listAllDomains(0)) {
                try {
                    metadataOf(domain).ifPresent(m -> {
                        try {
                            found.add(new Found(domain.getName(), domain.getUUIDString(), m));
                        } catch (LibvirtException e) {
                            // it vanished while we looked
                        }
                    });
                } finally {
                    domain.free();
                }
            }
        } catch (LibvirtException e) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "cannot list libvirt's domains: " + e.getMessage(), e);
        }
        return found;
    }

    /** The pty of the running domain's serial console, where that console is a pty; empty if it is gone. */
    public Optional<Path> serialPty(String uuid) {
        return withDomain(uuid, "read the console of", Optional.empty(),
                domain -> domain.isActive() == 1 ? DomainXmlReader.serialPty(domain.getXMLDesc(0)) : Optional.empty());
    }

    /**
     * Sends the QMP command {@code qmp} (JSON) to the QEMU of the domain with this uuid and returns its
     * answer, a QMP error included; empty when the domain is gone. libvirt marks a domain that got such a
     * command as tainted ("custom-monitor"): only for what libvirt has no call of its own.
     */
    public Optional<String> qemuMonitorCommand(String uuid, String qmp) {
        return withDomain(uuid, "send a QEMU monitor command to", Optional.empty(),
                domain -> Optional.of(domain.qemuMonitorCommand(qmp, 0)));
    }

    /**
     * {@link #qemuMonitorCommand} with a copy of {@code fd} passed along (QEMU's {@code getfd} takes it), on a
     * libvirt connection of its own: libvirt-java has no binding for it.
     */
    public String qemuMonitorCommandWithFile(String uuid, String qmp, int fd) {
        try {
            return QemuMonitorWithFile.send(uri, uuid, qmp, fd);
        } catch (IllegalStateException e) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "cannot pass a file to the QEMU of domain " + uuid
                    + ": " + e.getMessage(), e);
        }
    }

    /** The Vessel metadata of the domain with this uuid, if it exists and carries some. */
    public Optional<DomainMetadata> metadata(String uuid) {
        return withDomain(uuid, "look up", Optional.empty(), LibvirtDomains::metadataOf);
    }

    private interface DomainCall<T> {
        T apply(Domain domain) throws LibvirtException;
    }

    /** {@code call} on the domain with this uuid (freed after), or {@code ifGone} when there is none. */
    private <T> T withDomain(String uuid, String what, T ifGone, DomainCall<T> call) {
        try {
            Domain domain = connection().domainLookupByUUIDString(uuid);
            try {
                return call.apply(domain);
            } finally {
                domain.free();
            }
        } catch (LibvirtException e) {
            if (isNoDomain(e)) {
                return ifGone;
            }
            throw new VesselException(ErrorCode.INTERNAL, "vm", "cannot " + what + " domain " + uuid + ": "
                    + e.getMessage(), e);
        }
    }

    private static Optional<DomainMetadata> metadataOf(Domain domain) {
        try {
            return DomainMetadata.parse(domain.getMetadata(Domain.MetadataType.ELEMENT, DomainMetadata.NAMESPACE, 0));
        } catch (LibvirtException e) {
            return Optional.empty(); // no metadata in our namespace: not ours
        }
    }

    private static boolean isNoDomain(LibvirtException e) {
        return e.getError() != null && e.getError().getCode() == ErrorNumber.VIR_ERR_NO_DOMAIN;
    }

    @Override
    public void close() {
        for (CompletableFuture<Void> pending : List.copyOf(destroying)) {
            try {
                pending.get(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            } catch (ExecutionException | TimeoutException e) {
                // reported by whoever asked for it; closing anyway
            }
        }
        disconnect();
    }

    private synchronized void disconnect() {
        if (connection != null) {
            try {
                connection.close();
            } catch (LibvirtException e) {
                // closing anyway
            }
            connection = null;
        }
    }
}
