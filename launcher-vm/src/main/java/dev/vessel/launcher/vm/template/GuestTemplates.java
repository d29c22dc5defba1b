package dev.vessel.launcher.vm.template;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.launcher.vm.domain.VmSpec;
import dev.vessel.launcher.vm.pool.BackgroundMaker;
import dev.vessel.launcher.vm.pool.GuestFit;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * The node's guest template: one guest booted, warmed up and saved (see {@link GuestTemplate}), that a VM task's
 * guest is restored from in a fraction of a boot, with no guest waiting idle (the warm pool's cost). Built in the
 * background when the launcher starts, and again whenever what it was booted from (kernel, initramfs, software
 * image, QEMU, the guest's size and accelerator) changed or its files were altered: a stale template is never
 * restored, the task meanwhile boots. A template left by an earlier daemon is not trusted (its history is unknown)
 * and removed.
 *
 * <p>A template serves the tasks a warm guest serves ({@link GuestFit}): no VM options, volumes or networks of
 * their own, within its size. It also serves the warm pool: a pool guest of its size is restored from it (and
 * warmed up) instead of booted, so the pool refills in a fraction of a boot and its guests share the template's
 * pages.
 */
public final class GuestTemplates implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(GuestTemplates.class.getName());

    /** How the launcher builds and removes templates. */
    public interface Builder {
        /** What a template built now would be booted from, as a string that differs when any of it differs. */
        String inputs() throws Exception;

        GuestTemplate build(String inputs, long memoryBytes, int vcpus) throws Exception;

        /** Removes the template's files; clones running keep the pages they map. */
        void discard(GuestTemplate template);
    }

    private final long memoryBytes;
    private final int vcpus;
    private final Builder builder;
    /** The domains a build or a clone has made and no task holds yet: the orphan sweep leaves them alone. */
    private final Set<String> making = ConcurrentHashMap.newKeySet();
    private final BackgroundMaker building = new BackgroundMaker("a guest template", "vm-template");
    private volatile GuestTemplate current;
    private volatile boolean closed;
    /** Open once the first build ended (built or failed) or the store closed: what a filling pool waits for. */
    private final CountDownLatch firstBuildEnded = new CountDownLatch(1);

    public GuestTemplates(long memoryBytes, int vcpus, Builder builder) {
        this.memoryBytes = memoryBytes;
        this.vcpus = vcpus;
        this.builder = builder;
    }

    /** Starts building the template. */
    public void start() {
        building.submit(this::ensure);
    }

    /**
     * The template a guest for this task can be restored from, if it fits and the template is built, current and
     * intact; a stale or altered one is discarded and rebuilt in the background, and the task boots meanwhile.
     */
    public Optional<GuestTemplate> take(VmSpec spec, ContainerConfig config) {
        return takeIf(template -> GuestFit.fits(spec, config, template.memoryBytes(), template.vcpus()));
    }

    /**
     * The template a warm pool's guest of exactly this size can be restored from, if one is built, current and
     * intact (as {@link #take}).
     */
    public Optional<GuestTemplate> takeForPool(long memoryBytes, int vcpus) {
        return takeIf(template -> template.memoryBytes() == memoryBytes && template.vcpus() == vcpus);
    }

    /**
     * The template if one is built, {@code fits} and it is current and intact; a stale or altered one is discarded
     * and rebuilt.
     */
    private Optional<GuestTemplate> takeIf(Predicate<GuestTemplate> fits) {
        GuestTemplate template = current;
        if (closed || template == null || !fits.test(template)) {
            return Optional.empty();
        }
        String now;
        try {
            now = builder.inputs();
        } catch (Exception e) {
            LOG.log(Level.WARNING, "cannot tell what a guest would boot from now; booting: {0}", e.getMessage());
            return Optional.empty();
        }
        if (template.inputs().equals(now) && template.isIntact()) {
            return Optional.of(template);
        }
        LOG.log(Level.INFO, "the guest template {0} is {1}: rebuilding it", template.name(),
                template.inputs().equals(now) ? "changed since it was saved" : "of an older guest or QEMU");
        retire(template);
        return Optional.empty();
    }

    /**
     * Waits until the first template is built, its build failed, or {@code timeout} passed: a warm pool then
     * restores its guests instead of booting them beside the build (on a small host two boots at once slow both,
     * and a booted guest costs more memory than a restored one).
     */
    public void awaitFirstBuild(Duration timeout) throws InterruptedException {
        firstBuildEnded.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** A guest could not be restored from {@code template}: it is discarded and built again. */
    public void failed(GuestTemplate template) {
        retire(template);
    }

    /** The template in use, if one is built (for what reports on the node). */
    public Optional<GuestTemplate> current() {
        return Optional.ofNullable(current);
    }

    /** Marks the domain with this uuid as being made from or for a template (until {@link #made}). */
    public void making(String uuid) {
        making.add(uuid);
    }

    /** The domain with this uuid is a task's now, or gone. */
    public void made(String uuid) {
        making.remove(uuid);
    }

    /** Whether the domain with this uuid is a template's guest or a clone not yet a task's. */
    public boolean owns(String uuid) {
        return making.contains(uuid);
    }

    private synchronized void retire(GuestTemplate template) {
        if (current == template) {
            current = null;
            discard(template);
            if (!closed) {
                building.submit(this::ensure);
            }
        }
    }

    /** Builds a template unless a current one exists; runs on the building thread. */
    private void ensure() {
        try {
            while (!closed && current == null) {
                Optional<GuestTemplate> built =
                        building.attempt(() -> builder.build(builder.inputs(), memoryBytes, vcpus));
                firstBuildEnded.countDown(); // after a failure too: a pool waits no longer, it boots
                if (built.isEmpty()) {
                    continue;
                }
                synchronized (this) {
                    if (closed) {
                        discard(built.get());
                        return;
                    }
                    current = built.get();
                }
                LOG.log(Level.INFO, "guest template {0} is ready", built.get().name());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void discard(GuestTemplate template) {
        try {
            builder.discard(template);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cannot remove the guest template {0}: {1}", template.name(), e.getMessage());
        }
    }

    /** Stops building (a build under way is waited for) and removes the template. */
    @Override
    public void close() {
        closed = true;
        firstBuildEnded.countDown();
        building.close();
        GuestTemplate left;
        synchronized (this) {
            left = current;
            current = null;
        }
        if (left != null) {
            discard(left);
        }
    }
}
