package dev.vessel.isolators.cgroups;

import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.LimitationReason;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.FdWatcher;
import dev.vessel.linux.LibC;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The memory controller: a hard limit with swap off, a soft limit (the reservation), OOM detection, usage and
 * peak. An OOM ends the container with a {@code Limitation} of reason OOM: on v1 through an eventfd registered on
 * {@code memory.oom_control}, on v2 by watching the {@code oom_kill} counter of {@code memory.events}.
 */
public final class MemoryIsolator extends CgroupControllerIsolator {
    private static final System.Logger LOG = System.getLogger(MemoryIsolator.class.getName());
    private static final String CONTROLLER = "memory";

    private final Map<String, CompletableFuture<Limitation>> watches = new ConcurrentHashMap<>();

    public MemoryIsolator(CgroupsIsolator cgroups) {
        super(CONTROLLER, cgroups);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        ContainerCgroups cg = context.get(CgroupKeys.CGROUPS);
        cg.of(CONTROLLER).ifPresent(dir -> {
            long bytes = context.config().getResources().getMemoryBytes();
            if (cg.version(CONTROLLER) == 1) {
                // the kernel default swappiness would let a limited container swap instead of OOM
                CgroupFiles.write(dir, "memory.swappiness", "0");
            } else if (bytes <= 0) {
                return; // the cgroups isolator made it just now (it refuses one that exists): v2 starts without limits
            }
            setLimit(dir, cg.version(CONTROLLER), bytes);
            long reservation = context.config().getResources().getMemoryReservationBytes();
            if (reservation > 0) {
                setReservation(dir, cg.version(CONTROLLER), reservation);
            }
        });
        return LaunchInfo.getDefaultInstance();
    }

    /** The soft limit: what reclaim leaves the container while the host is short of memory; 0: none. */
    private static void setReservation(Path dir, int version, long bytes) {
        if (version == 1) {
            CgroupFiles.write(dir, "memory.soft_limit_in_bytes", bytes > 0 ? Long.toString(bytes) : "-1");
        } else {
            CgroupFiles.write(dir, "memory.low", Long.toString(bytes));
        }
    }

    /**
     * Sets the limit with swap off. On v1 memsw (memory+swap) may never be below the memory limit, so
     * the order of the two writes depends on whether the limit grows or shrinks.
     */
    private static void setLimit(Path dir, int version, long bytes) {
        String value = bytes > 0 ? Long.toString(bytes) : (version == 1 ? "-1" : "max");
        if (version == 2) {
            CgroupFiles.write(dir, "memory.max", value);
            if (CgroupFiles.exists(dir, "memory.swap.max")) {
                CgroupFiles.write(dir, "memory.swap.max", bytes > 0 ? "0" : "max");
            }
            return;
        }
        boolean swapAccounting = CgroupFiles.exists(dir, "memory.memsw.limit_in_bytes");
        long current = CgroupFiles.readLong(dir, "memory.limit_in_bytes");
        boolean growing = bytes <= 0 || bytes > current;
        if (swapAccounting && growing) {
            CgroupFiles.write(dir, "memory.memsw.limit_in_bytes", value);
        }
        CgroupFiles.write(dir, "memory.limit_in_bytes", value);
        if (swapAccounting && !growing) {
            CgroupFiles.write(dir, "memory.memsw.limit_in_bytes", value);
        }
    }

    /** Starts watching before the task is released, so an OOM right at start is not missed. */
    @Override
    public void isolate(ContainerContext context, long pid) {
        watch(context);
    }

    /** The OOM watch of a container: started at isolate, or at the first call after a restart. */
    @Override
    public CompletableFuture<Limitation> watch(ContainerContext context) {
        return watches.computeIfAbsent(context.containerId(), id -> {
            CompletableFuture<Limitation> future = new CompletableFuture<>();
            ContainerCgroups cg = cgroups.cgroupsOf(context);
            cg.of(CONTROLLER).filter(Files::isDirectory).ifPresent(dir -> {
                long limit = context.config().getResources().getMemoryBytes();
                if (cg.version(CONTROLLER) == 1) {
                    watchV1(id, dir, limit, future);
                } else {
                    watchV2(id, dir, limit, future);
                }
            });
            return future;
        });
    }

    /**
     * Registers an eventfd for OOM notifications, which the shared {@link FdWatcher} waits on. The
     * kernel also signals it when the cgroup is removed, which ends the watch. Each container has a
     * fresh cgroup, so any OOM kill counted there (also one that happened while the daemon was down)
     * is the container's.
     */
    private static void watchV1(String id, Path dir, long limit, CompletableFuture<Limitation> future) {
        int eventFd;
        int oomControl;
        try {
            eventFd = LibC.eventfd(0, LibC.EFD_CLOEXEC);
            oomControl = LibC.open(dir.resolve("memory.oom_control").toString(), LibC.O_RDONLY | LibC.O_CLOEXEC);
            CgroupFiles.write(dir, "cgroup.event_control", eventFd + " " + oomControl);
        } catch (ErrnoException | RuntimeException e) {
            LOG.log(Level.WARNING, "cannot watch container ''{0}'' for OOM: {1}", id, e.getMessage());
            return;
        }
        if (oomKills(dir, 1) > 0) {
            future.complete(oom(limit));
        }
        new OomEvents(id, dir, limit, future, eventFd, oomControl).next();
    }

    /** One container's OOM eventfd, waited on event after event until its cgroup goes or an OOM is seen. */
    private record OomEvents(String id, Path dir, long limit, CompletableFuture<Limitation> future, int eventFd,
            int oomControl) {
        void next() {
            if (future.isDone() || !Files.isDirectory(dir)) {
                close();
                return;
            }
            try {
                FdWatcher.shared().whenReadable(eventFd).thenRun(this::signalled);
            } catch (ErrnoException | RuntimeException e) {
                LOG.log(Level.WARNING, "cannot watch container ''{0}'' for OOM: {1}", id, e.getMessage());
                close();
            }
        }

        private void signalled() {
            try {
                LibC.readEventfd(eventFd); // readable: returns at once
                if (Files.isDirectory(dir) && awaitOomKill(dir)) {
                    future.complete(oom(limit));
                }
            } catch (ErrnoException | InterruptedException | RuntimeException e) {
                LOG.log(Level.DEBUG, "OOM watch of ''{0}'' ended: {1}", id, e.getMessage());
                close();
                return;
            }
            next();
        }

        private void close() {
            LibC.close(oomControl);
            LibC.close(eventFd);
        }
    }

    /**
     * The eventfd fires when the cgroup hits its limit, a moment before the OOM killer has picked and
     * killed a process (and counted it in oom_kill): give it that moment.
     */
    private static boolean awaitOomKill(Path dir) throws InterruptedException {
        for (int i = 0; i < 200; i++) {
            if (oomKills(dir, 1) > 0) {
                return true;
            }
            Thread.sleep(10);
        }
        return false;
    }

    /** v2 reports OOM kills in memory.events; checked every 50 ms until the cgroup goes away. */
    private static void watchV2(String id, Path dir, long limit, CompletableFuture<Limitation> future) {
        Thread.ofVirtual().name("oom-" + id).start(() -> {
            while (Files.isDirectory(dir) && !future.isDone()) {
                if (oomKills(dir, 2) > 0) {
                    future.complete(oom(limit));
                    return;
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    private static long oomKills(Path dir, int version) {
        return CgroupFiles.readKeyed(dir, version == 1 ? "memory.oom_control" : "memory.events")
                .getOrDefault("oom_kill", 0L);
    }

    private static Limitation oom(long limit) {
        return Limitation.newBuilder()
                .setReason(LimitationReason.OOM)
                .setMessage("the memory limit of " + limit + " bytes was reached and the OOM killer ran")
                .setResources(Resources.newBuilder().setMemoryBytes(limit))
                .build();
    }

    @Override
    public void update(ContainerContext context, Resources resources) {
        ContainerCgroups cg = cgroups.cgroupsOf(context);
        cg.of(CONTROLLER).ifPresent(dir -> {
            setLimit(dir, cg.version(CONTROLLER), resources.getMemoryBytes());
            setReservation(dir, cg.version(CONTROLLER), resources.getMemoryReservationBytes());
        });
    }

    @Override
    public ResourceStatistics usage(ContainerContext context) {
        ContainerCgroups cg = cgroups.cgroupsOf(context);
        return cg.of(CONTROLLER).map(dir -> cg.version(CONTROLLER) == 1
                ? ResourceStatistics.newBuilder()
                        .setMemoryUsageBytes(CgroupFiles.readLong(dir, "memory.usage_in_bytes"))
                        .setMemoryPeakBytes(CgroupFiles.readLong(dir, "memory.max_usage_in_bytes"))
                        .setMemoryLimitBytes(limitOrZero(CgroupFiles.readLong(dir, "memory.limit_in_bytes")))
                        .build()
                : ResourceStatistics.newBuilder()
                        .setMemoryUsageBytes(CgroupFiles.readLong(dir, "memory.current"))
                        .setMemoryPeakBytes(CgroupFiles.readLong(dir, "memory.peak"))
                        .setMemoryLimitBytes(limitOrZero(CgroupFiles.readLong(dir, "memory.max")))
                        .build())
                .orElse(ResourceStatistics.getDefaultInstance());
    }

    /** v1 reports "no limit" as a huge page-rounded number, v2 as "max": both become 0. */
    private static long limitOrZero(long limit) {
        return limit >= (1L << 62) ? 0 : limit;
    }

    @Override
    public void cleanup(ContainerContext context) {
        watches.remove(context.containerId());
    }
}
