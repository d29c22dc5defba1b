package dev.vessel.isolators.disk;

import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.LimitationReason;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.Volume;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.PrepareContext;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Mesos's disk/du: measures what a container writes — its sandbox, its persistent volumes and the
 * writable part of its provisioned rootfs — every {@code interval}, and ends it with a
 * {@code Limitation} of reason DISK once that passes {@code resources.disk_bytes}. Measured like
 * {@code du -x}: mount points below a measured directory (an overlay's merged view) are not entered,
 * so only what the container itself wrote counts.
 */
public final class DiskDuIsolator implements Isolator {
    private static final System.Logger LOG = System.getLogger(DiskDuIsolator.class.getName());

    private final RuntimePaths paths;
    private final Duration interval;
    private final Map<String, CompletableFuture<Limitation>> watches = new ConcurrentHashMap<>();

    public DiskDuIsolator(RuntimePaths paths, Duration interval) {
        this.paths = paths;
        this.interval = interval;
    }

    @Override
    public String name() {
        return "disk/du";
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        return LaunchInfo.getDefaultInstance();
    }

    /** Everything this container writes to that is its own. */
    List<Path> measuredPaths(ContainerContext context) {
        List<Path> measured = new ArrayList<>();
        measured.add(paths.sandboxDir(context.containerDir()));
        measured.add(paths.provisionedRootfsDir(context.containerId()));
        for (Volume v : context.config().getVolumesList()) {
            if (v.hasPersistent()) {
                measured.add(paths.persistentVolume(v.getPersistent().getName()));
            }
        }
        return measured;
    }

    long used(ContainerContext context) {
        long total = 0;
        for (Path p : measuredPaths(context)) {
            total += du(p);
        }
        return total;
    }

    @Override
    public void isolate(ContainerContext context, long pid) {
        watch(context);
    }

    @Override
    public CompletableFuture<Limitation> watch(ContainerContext context) {
        long quota = context.config().getResources().getDiskBytes();
        CompletableFuture<Limitation> fresh = new CompletableFuture<>();
        CompletableFuture<Limitation> existing = watches.putIfAbsent(context.containerId(), fresh);
        if (existing != null) {
            return existing;
        }
        if (quota > 0) {
            Thread.ofVirtual().name("disk-" + context.containerId()).start(() -> poll(context, quota, fresh));
        }
        return fresh;
    }

    private void poll(ContainerContext context, long quota, CompletableFuture<Limitation> future) {
        while (!future.isDone() && watches.get(context.containerId()) == future) {
            long used = used(context);
            if (used > quota) {
                future.complete(Limitation.newBuilder()
                        .setReason(LimitationReason.DISK)
                        .setMessage("disk usage of " + used + " bytes exceeds the quota of " + quota + " bytes")
                        .setResources(Resources.newBuilder().setDiskBytes(quota))
                        .build());
                return;
            }
            try {
                Thread.sleep(interval);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    @Override
    public ResourceStatistics usage(ContainerContext context) {
        return ResourceStatistics.newBuilder()
                .setDiskUsedBytes(used(context))
                .setDiskLimitBytes(context.config().getResources().getDiskBytes())
                .build();
    }

    @Override
    public void cleanup(ContainerContext context) {
        watches.remove(context.containerId()); // its poller sees it is no longer watched and stops
    }

    /** Bytes of the regular files under {@code root}, staying on root's filesystem. */
    static long du(Path root) {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        long[] total = {0};
        try {
            Object device = Files.getAttribute(root, "unix:dev", LinkOption.NOFOLLOW_LINKS);
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                    return device.equals(Files.getAttribute(dir, "unix:dev", LinkOption.NOFOLLOW_LINKS))
                            ? FileVisitResult.CONTINUE : FileVisitResult.SKIP_SUBTREE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile()) {
                        total[0] += attrs.size();
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE; // removed while walking: it no longer uses space
                }
            });
        } catch (NoSuchFileException e) {
            return total[0];
        } catch (IOException e) {
            LOG.log(Level.WARNING, "cannot measure {0}: {1}", root, e.getMessage());
        }
        return total[0];
    }
}
