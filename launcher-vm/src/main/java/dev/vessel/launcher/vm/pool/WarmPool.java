package dev.vessel.launcher.vm.pool;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.launcher.vm.domain.VmSpec;
import dev.vessel.linux.ProcessMemory;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;

/**
 * Guests booted ahead of demand with their agents ready, so that a VM task skips the boot and the
 * agent's start (seconds under TCG). Each guest serves one task and is never reused: the task's VM is
 * destroyed with it, as a cold one is, and a replacement boots in the background. One guest boots at
 * a time, so that refilling takes at most one CPU from the tasks that run. With guest templates on, the launcher
 * restores the pool's guests from the template instead of booting them ({@code Booter}).
 *
 * <p>A guest serves a task that fits it ({@link GuestFit}). The pool's guests are not checkpointed: after a
 * crash the launcher's orphan sweep destroys them and removes their directories.
 */
public final class WarmPool implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(WarmPool.class.getName());

    /** How the launcher boots and destroys the pool's guests. */
    public interface Booter {
        WarmGuest boot(long memoryBytes, int vcpus) throws Exception;

        /** Destroys the guest's domain and removes its directory. */
        void discard(WarmGuest guest);
    }

    private final int size;
    private final long memoryBytes;
    private final int vcpus;
    private final Booter booter;
    private final ConcurrentLinkedDeque<WarmGuest> ready = new ConcurrentLinkedDeque<>();
    /** Every guest the pool holds or is booting, by uuid: the orphan sweep leaves these alone. */
    private final Set<String> owned = ConcurrentHashMap.newKeySet();
    private final BackgroundMaker refiller = new BackgroundMaker("a warm guest", "vm-warm-pool");
    private volatile boolean closed;

    public WarmPool(int size, long memoryBytes, int vcpus, Booter booter) {
        if (size < 1) {
            throw new IllegalArgumentException("a warm pool holds at least one guest, not " + size);
        }
        this.size = size;
        this.memoryBytes = memoryBytes;
        this.vcpus = vcpus;
        this.booter = booter;
    }

    /** Starts booting guests until the pool is full. */
    public void start() {
        refiller.submit(this::fill);
    }

    /**
     * A ready guest for a task of this spec, if it fits one (see the class comment) and one is ready
     * now; the pool never makes a task wait for a boot. A replacement starts booting.
     */
    public Optional<WarmGuest> take(VmSpec spec, ContainerConfig config) {
        if (closed || !GuestFit.fits(spec, config, memoryBytes, vcpus)) {
            return Optional.empty();
        }
        WarmGuest guest;
        while ((guest = ready.pollFirst()) != null) {
            if (guest.isAlive()) {
                owned.remove(guest.uuid()); // the task's now: its checkpoint names it
                refiller.submit(this::fill);
                return Optional.of(guest);
            }
            LOG.log(Level.WARNING, "the warm guest {0} died while it waited; discarding it", guest.domainName());
            discard(guest);
        }
        refiller.submit(this::fill);
        return Optional.empty();
    }

    public int readyCount() {
        return ready.size();
    }

    /** What the ready guests' QEMUs hold of the host's memory together (what the pool costs while idle). */
    public ProcessMemory idleMemory() {
        ProcessMemory sum = ProcessMemory.NONE;
        for (WarmGuest guest : ready) {
            try {
                sum = sum.plus(ProcessMemory.of(guest.qemu().pid()));
            } catch (IOException e) {
                // taken or gone meanwhile: it costs the pool nothing
            }
        }
        return sum;
    }

    /** Whether the guest with this uuid is one of the pool's (ready or booting). */
    public boolean owns(String uuid) {
        return owned.contains(uuid);
    }

    /** Boots guests one after another until {@code size} are ready; runs on the refiller thread. */
    private void fill() {
        ready.removeIf(guest -> {
            if (guest.isAlive()) {
                return false;
            }
            discard(guest);
            return true;
        });
        try {
            while (!closed && ready.size() < size) {
                Optional<WarmGuest> booted = refiller.attempt(() -> booter.boot(memoryBytes, vcpus));
                if (booted.isEmpty()) {
                    continue;
                }
                WarmGuest guest = booted.get();
                owned.add(guest.uuid());
                if (closed) {
                    discard(guest);
                    return;
                }
                ready.addLast(guest);
                LOG.log(Level.DEBUG, "warm guest {0} is ready", guest.domainName());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void discard(WarmGuest guest) {
        try {
            booter.discard(guest);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "cannot discard the warm guest {0}: {1}", guest.domainName(), e.getMessage());
        } finally {
            owned.remove(guest.uuid());
        }
    }

    /** Stops refilling (a boot under way is waited for) and destroys every guest not handed out. */
    @Override
    public void close() {
        closed = true;
        refiller.close();
        List<WarmGuest> left = new ArrayList<>(ready);
        ready.clear();
        left.forEach(this::discard);
    }
}
