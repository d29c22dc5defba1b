package dev.vessel.core.isolation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.LimitationReason;
import dev.vessel.core.model.Mount;
import dev.vessel.core.model.Namespace;
import dev.vessel.core.model.ResourceStatistics;
import dev.vessel.core.model.SeccompFilter;
import dev.vessel.core.model.VmLaunchInfo;
import dev.vessel.core.model.VmNic;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.testing.CallLog;
import dev.vessel.core.testing.RecordingIsolator;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class IsolatorChainTest {
    static final Key<Path> ROOTFS = Key.of("rootfs", Path.class);
    static final Key<String> NETNS = Key.of("netns", String.class);

    final CallLog log = new CallLog();

    static IsolatorChain chain(Isolator... isolators) {
        return new IsolatorChain(IsolatorGraph.build(List.of(isolators), Set.of(ROOTFS), "containerizer"));
    }

    static Function<Isolator, ContainerContext> contexts(String id) {
        return isolator -> new ContainerContext() {
            @Override
            public String containerId() {
                return id;
            }

            @Override
            public ContainerConfig config() {
                return ContainerConfig.newBuilder().setId(id).build();
            }

            @Override
            public Path containerDir() {
                return Path.of("/nonexistent");
            }

            @Override
            public Checkpoint checkpoint() {
                return Checkpoint.at(Path.of("/nonexistent", isolator.name()));
            }
        };
    }

    @Test
    void independentIsolatorsPrepareConcurrently() {
        // Each waits for the other to have started: only concurrent prepares finish.
        CountDownLatch bothStarted = new CountDownLatch(2);
        java.util.function.Consumer<dev.vessel.core.spi.PrepareContext> meet = ctx -> {
            bothStarted.countDown();
            try {
                if (!bothStarted.await(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("the other isolator never started: prepares ran one by one");
                }
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        };
        IsolatorChain chain = chain(new RecordingIsolator("a", log).onPrepare(meet),
                new RecordingIsolator("b", log).onPrepare(meet));
        chain.prepare(contexts("c1"), Map.of());
        assertEquals(0, bothStarted.getCount());
    }

    @Test
    void inOrderEveryIsolatorPreparesOnTheLaunchingThreadEachAfterWhatItRequires() {
        Thread launching = Thread.currentThread();
        List<String> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.function.Consumer<dev.vessel.core.spi.PrepareContext> onThread = ctx -> threads.add(
                Thread.currentThread() == launching ? "launching" : Thread.currentThread().toString());
        RecordingIsolator tap = new RecordingIsolator("tap", log).requires(NETNS).onPrepare(ctx -> {
            onThread.accept(ctx);
            assertEquals("/run/netns/c1", ctx.get(NETNS));
        });
        RecordingIsolator cni = new RecordingIsolator("cni", log).provides(NETNS).onPrepare(ctx -> {
            onThread.accept(ctx);
            ctx.put(NETNS, "/run/netns/c1");
        });
        RecordingIsolator other = new RecordingIsolator("other", log).onPrepare(onThread);
        IsolatorChain.inOrder(IsolatorGraph.build(List.of(tap, cni, other), Set.of(ROOTFS), "containerizer"))
                .prepare(contexts("c1"), Map.of());
        assertEquals(List.of("launching", "launching", "launching"), threads);
        assertTrue(log.calls().indexOf("cni:prepare:c1") < log.calls().indexOf("tap:prepare:c1"),
                log.calls().toString());
    }

    @Test
    void aConsumerPreparesAfterItsProviderAndReadsWhatItWrote() {
        String[] seen = new String[2];
        RecordingIsolator tap = new RecordingIsolator("tap", log).requires(NETNS, ROOTFS).onPrepare(ctx -> {
            seen[0] = ctx.get(NETNS);
            seen[1] = ctx.get(ROOTFS).toString();
        });
        RecordingIsolator cni = new RecordingIsolator("cni", log).provides(NETNS).onPrepare(ctx -> {
            try {
                Thread.sleep(50); // a slow provider: the consumer must still wait for it
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            ctx.put(NETNS, "/run/netns/c1");
        });
        chain(tap, cni).prepare(contexts("c1"), Map.of(ROOTFS, Path.of("/rootfs/c1")));
        assertEquals(List.of("cni:prepare:c1", "tap:prepare:c1"), log.calls());
        assertEquals("/run/netns/c1", seen[0]);
        assertEquals("/rootfs/c1", seen[1]);
    }

    @Test
    void readingAnUndeclaredKeyFails() {
        RecordingIsolator sneaky = new RecordingIsolator("sneaky", log).onPrepare(ctx -> ctx.get(ROOTFS));
        VesselException e = assertThrows(VesselException.class,
                () -> chain(sneaky).prepare(contexts("c1"), Map.of(ROOTFS, Path.of("/r"))));
        assertTrue(e.getMessage().contains("isolator 'sneaky' failed to prepare"), e.getMessage());
        assertTrue(e.getMessage().contains("without declaring it in requires()"), e.getMessage());
    }

    @Test
    void aProviderThatDoesNotWriteItsKeyFails() {
        RecordingIsolator lazy = new RecordingIsolator("lazy", log).provides(NETNS);
        RecordingIsolator tap = new RecordingIsolator("tap", log).requires(NETNS);
        VesselException e = assertThrows(VesselException.class, () -> chain(lazy, tap).prepare(contexts("c1"), Map.of()));
        assertTrue(e.getMessage().contains("'lazy' declares it provides key netns(String) but did not set it"),
                e.getMessage());
        assertEquals(List.of("lazy:prepare:c1"), log.calls(), "the consumer must not run without its input");
    }

    @Test
    void aFailedPrepareIsReportedWithTheIsolatorsNameAfterTheOthersFinish() {
        RecordingIsolator slow = new RecordingIsolator("slow", log).onPrepare(ctx -> {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        RecordingIsolator broken = new RecordingIsolator("broken", log).failOn("prepare");
        VesselException e = assertThrows(VesselException.class, () -> chain(slow, broken).prepare(contexts("c1"), Map.of()));
        assertTrue(e.getMessage().startsWith("isolator 'broken' failed to prepare"), e.getMessage());
        assertEquals(2, log.matching(":prepare:").size());
    }

    @Test
    void launchInfosMergeRepeatedFieldsInChainOrder() {
        RecordingIsolator ns = new RecordingIsolator("ns", log).returning(LaunchInfo.newBuilder()
                .addNamespaces(Namespace.PID).addNamespaces(Namespace.MOUNT).setHostname("web").build());
        RecordingIsolator fs = new RecordingIsolator("fs", log).returning(LaunchInfo.newBuilder()
                .addMounts(Mount.newBuilder().setTarget("/data").setType("bind"))
                .addEnv(EnvVar.newBuilder().setName("A").setValue("1")).setHostname("web").build());
        LaunchInfo merged = chain(ns, fs).prepare(contexts("c1"), Map.of());
        assertEquals(List.of(Namespace.PID, Namespace.MOUNT), merged.getNamespacesList());
        assertEquals("/data", merged.getMounts(0).getTarget());
        assertEquals("web", merged.getHostname());
        assertEquals("A", merged.getEnv(0).getName());
    }

    @Test
    void twoIsolatorsSettingOneFieldDifferentlyConflict() {
        RecordingIsolator a = new RecordingIsolator("a", log).returning(LaunchInfo.newBuilder().setHostname("x").build());
        RecordingIsolator b = new RecordingIsolator("b", log).returning(LaunchInfo.newBuilder().setHostname("y").build());
        VesselException e = assertThrows(VesselException.class, () -> chain(a, b).prepare(contexts("c1"), Map.of()));
        assertEquals("launch_info.hostname", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("isolators 'a' and 'b' set it to different values"), e.getMessage());
    }

    @Test
    void messageFieldsMergeFieldByField() {
        RecordingIsolator size = new RecordingIsolator("size", log).returning(LaunchInfo.newBuilder()
                .setVm(VmLaunchInfo.newBuilder().setVcpus(2).setMemoryBytes(512)).build());
        RecordingIsolator nics = new RecordingIsolator("nics", log).returning(LaunchInfo.newBuilder()
                .setVm(VmLaunchInfo.newBuilder().addNics(VmNic.newBuilder().setTap("t0"))).build());
        LaunchInfo merged = chain(size, nics).prepare(contexts("c1"), Map.of());
        assertEquals(2, merged.getVm().getVcpus());
        assertEquals(512, merged.getVm().getMemoryBytes());
        assertEquals("t0", merged.getVm().getNics(0).getTap());
    }

    @Test
    void aConflictInsideAMessageFieldNamesItsPath() {
        RecordingIsolator a = new RecordingIsolator("a", log).returning(LaunchInfo.newBuilder()
                .setVm(VmLaunchInfo.newBuilder().setVcpus(1)).build());
        RecordingIsolator b = new RecordingIsolator("b", log).returning(LaunchInfo.newBuilder()
                .setVm(VmLaunchInfo.newBuilder().setVcpus(2)).build());
        VesselException e = assertThrows(VesselException.class, () -> chain(a, b).prepare(contexts("c1"), Map.of()));
        assertEquals("launch_info.vm.vcpus", e.field().orElseThrow());
    }

    @Test
    void twoIsolatorsGivingDifferentSeccompFiltersConflict() {
        RecordingIsolator a = new RecordingIsolator("a", log).returning(LaunchInfo.newBuilder().setSeccomp(
                SeccompFilter.newBuilder().setProgram(ByteString.copyFrom(new byte[8]))).build());
        RecordingIsolator b = new RecordingIsolator("b", log).returning(LaunchInfo.newBuilder().setSeccomp(
                SeccompFilter.newBuilder().setProgram(ByteString.copyFrom(new byte[16]))).build());
        VesselException e = assertThrows(VesselException.class, () -> chain(a, b).prepare(contexts("c1"), Map.of()));
        assertEquals("launch_info.seccomp.program", e.field().orElseThrow());
        LaunchInfo one = chain(a, new RecordingIsolator("c", log)).prepare(contexts("c2"), Map.of());
        assertEquals(8, one.getSeccomp().getProgram().size());
    }

    @Test
    void isolateRunsInChainOrder() {
        chain(new RecordingIsolator("b", log).provides(NETNS).onPrepare(ctx -> ctx.put(NETNS, "n")),
                new RecordingIsolator("a", log).requires(NETNS)).isolate(contexts("c1"), 42);
        assertEquals(List.of("b:isolate:c1", "a:isolate:c1"), log.calls());
    }

    @Test
    void cleanupRunsInReverseOrderPastAFailureAndReportsIt() {
        IsolatorChain chain = chain(new RecordingIsolator("first", log),
                new RecordingIsolator("middle", log).failOn("cleanup"),
                new RecordingIsolator("last", log));
        VesselException e = assertThrows(VesselException.class, () -> chain.cleanup(contexts("c1")));
        assertEquals(List.of("last:cleanup:c1", "middle:cleanup:c1", "first:cleanup:c1"), log.calls());
        assertTrue(e.getMessage().contains("isolator 'middle' failed to clean up"), e.getMessage());
        assertEquals(1, e.getSuppressed().length);
    }

    @Test
    void watchCompletesWithTheFirstLimitation() {
        RecordingIsolator mem = new RecordingIsolator("mem", log);
        RecordingIsolator disk = new RecordingIsolator("disk", log);
        var watch = chain(mem, disk).watch(contexts("c1"));
        assertTrue(!watch.isDone());
        disk.limit("c1", Limitation.newBuilder().setReason(LimitationReason.DISK).build());
        assertEquals(LimitationReason.DISK, watch.join().getReason());
    }

    @Test
    void usageMergesEveryIsolatorsPart() {
        ResourceStatistics stats = chain(
                new RecordingIsolator("mem", log).reporting(ResourceStatistics.newBuilder().setMemoryUsageBytes(5).build()),
                new RecordingIsolator("cpu", log).reporting(ResourceStatistics.newBuilder().setCpuUserSeconds(1.5).build()))
                .usage(contexts("c1"));
        assertEquals(5, stats.getMemoryUsageBytes());
        assertEquals(1.5, stats.getCpuUserSeconds());
    }
}
