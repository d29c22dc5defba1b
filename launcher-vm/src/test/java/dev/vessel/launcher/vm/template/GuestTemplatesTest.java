package dev.vessel.launcher.vm.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.launcher.vm.VmLauncherConfig;
import dev.vessel.launcher.vm.domain.Accelerator;
import dev.vessel.launcher.vm.domain.VmSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The template's life with a builder that makes files instead of booting guests. */
class GuestTemplatesTest {
    private static final long MEMORY = 512 * VmLauncherConfig.MIB;

    @TempDir
    Path dir;
    private volatile String inputs = "image-1";
    private final List<GuestTemplate> built = new CopyOnWriteArrayList<>();
    private final List<GuestTemplate> discarded = new CopyOnWriteArrayList<>();

    @Test
    void aTaskTakesTheTemplateOnceBuiltIfItFitsAndItIsCurrentAndIntact() throws Exception {
        try (GuestTemplates templates = new GuestTemplates(MEMORY, 1, builder())) {
            VmSpec spec = spec(MEMORY, 1);
            ContainerConfig plain = ContainerConfig.newBuilder().setId("c").build();
            assertTrue(templates.take(spec, plain).isEmpty(), "nothing is built before start");
            templates.start();
            GuestTemplate first = awaitBuilt(templates, 1);
            assertEquals(Optional.of(first), templates.take(spec, plain));
            assertEquals(Optional.of(first), templates.take(spec, plain), "a template serves any number of tasks");

            assertTrue(templates.take(spec(MEMORY * 2, 1), plain).isEmpty(), "more memory than the template's");
            assertTrue(templates.take(spec(MEMORY, 2), plain).isEmpty(), "more vCPUs than the template's");
            assertTrue(templates.take(spec, plain.toBuilder().setVm(VmOptions.newBuilder().setKernel("/k")).build())
                    .isEmpty(), "VM options of its own");
            assertTrue(discarded.isEmpty());
        }
    }

    @Test
    void thePoolTakesTheTemplateForAGuestOfExactlyItsSizeWhenCurrent() throws Exception {
        try (GuestTemplates templates = new GuestTemplates(MEMORY, 1, builder())) {
            assertTrue(templates.takeForPool(MEMORY, 1).isEmpty(), "nothing is built before start");
            templates.start();
            GuestTemplate first = awaitBuilt(templates, 1);
            assertEquals(Optional.of(first), templates.takeForPool(MEMORY, 1));
            assertTrue(templates.takeForPool(MEMORY / 2, 1).isEmpty(), "a pool of smaller guests");
            assertTrue(templates.takeForPool(MEMORY, 2).isEmpty(), "a pool of guests with more vCPUs");

            inputs = "image-2";
            assertTrue(templates.takeForPool(MEMORY, 1).isEmpty(), "the guest image changed");
            assertEquals(List.of(first), discarded);
            assertEquals("image-2", awaitBuilt(templates, 2).inputs());
        }
    }

    @Test
    void aPoolWaitsForTheFirstBuildUntilItEndsOrTheStoreCloses() throws Exception {
        GuestTemplates templates = new GuestTemplates(MEMORY, 1, builder());
        long before = System.nanoTime();
        templates.awaitFirstBuild(Duration.ofMillis(200));
        assertTrue(System.nanoTime() - before >= TimeUnit.MILLISECONDS.toNanos(200), "nothing built: it waited");
        templates.start();
        templates.awaitFirstBuild(Duration.ofMinutes(1));
        assertEquals(1, built.size(), "it returned before the first build ended");
        templates.close();

        GuestTemplates closed = new GuestTemplates(MEMORY, 1, builder());
        closed.close();
        long waiting = System.nanoTime();
        closed.awaitFirstBuild(Duration.ofSeconds(20));
        assertTrue(System.nanoTime() - waiting < TimeUnit.SECONDS.toNanos(10), "a closed store kept a pool waiting");
    }

    @Test
    void aTemplateOfAnOlderGuestOrAlteredSinceItWasSavedIsDiscardedAndBuiltAgainNeverTaken() throws Exception {
        try (GuestTemplates templates = new GuestTemplates(MEMORY, 1, builder())) {
            VmSpec spec = spec(MEMORY, 1);
            ContainerConfig plain = ContainerConfig.newBuilder().setId("c").build();
            templates.start();
            GuestTemplate first = awaitBuilt(templates, 1);

            inputs = "image-2";
            assertTrue(templates.take(spec, plain).isEmpty(), "the guest image changed");
            assertEquals(List.of(first), discarded);
            GuestTemplate second = awaitBuilt(templates, 2);
            assertEquals("image-2", second.inputs());
            assertEquals(Optional.of(second), templates.take(spec, plain));

            Files.writeString(GuestTemplate.memory(second.dir()), "written by someone");
            assertTrue(templates.take(spec, plain).isEmpty(), "the memory file was written");
            assertEquals(List.of(first, second), discarded);
            awaitBuilt(templates, 3);
        }
        assertEquals(3, discarded.size(), "close removes the template in use");
    }

    @Test
    void aTemplateThatAGuestCouldNotBeRestoredFromIsDiscardedAndBuiltAgain() throws Exception {
        try (GuestTemplates templates = new GuestTemplates(MEMORY, 1, builder())) {
            templates.start();
            GuestTemplate first = awaitBuilt(templates, 1);
            templates.failed(first);
            assertEquals(List.of(first), discarded);
            GuestTemplate second = awaitBuilt(templates, 2);
            assertTrue(!second.equals(first));
            templates.failed(first); // reported late, by a second failed restore: the current one stays
            assertEquals(Optional.of(second), templates.current());
        }
    }

    @Test
    void theDomainsBeingMadeAreOwnedUntilMade() {
        try (GuestTemplates templates = new GuestTemplates(MEMORY, 1, builder())) {
            templates.making("u1");
            assertTrue(templates.owns("u1"));
            assertFalse(templates.owns("u2"));
            templates.made("u1");
            assertFalse(templates.owns("u1"));
        }
    }

    private GuestTemplate awaitBuilt(GuestTemplates templates, int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (built.size() < count || templates.current().isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("template " + count + " was not built");
            }
            Thread.sleep(5);
        }
        return templates.current().orElseThrow();
    }

    private GuestTemplates.Builder builder() {
        return new GuestTemplates.Builder() {
            @Override
            public String inputs() {
                return inputs;
            }

            @Override
            public GuestTemplate build(String inputs, long memoryBytes, int vcpus) throws Exception {
                Path templateDir = Files.createDirectories(dir.resolve("t" + built.size()));
                Files.writeString(GuestTemplate.memory(templateDir), "ram");
                Files.writeString(GuestTemplate.state(templateDir), "state");
                GuestTemplate template = GuestTemplate.saved("t" + built.size(), templateDir, inputs, memoryBytes, vcpus);
                built.add(template);
                return template;
            }

            @Override
            public void discard(GuestTemplate template) {
                discarded.add(template);
            }
        };
    }

    private VmSpec spec(long memoryBytes, int vcpus) {
        return VmSpec.builder().containerId("c").stateDir(dir).domainName("vessel-c").uuid(UUID.randomUUID())
                .accelerator(Accelerator.TCG).qemuUser(new QemuUser("libvirt-qemu", 64055, 108)).memoryBytes(memoryBytes)
                .vcpus(vcpus).kernel(dir.resolve("k")).initrd(dir.resolve("i")).kernelCmdline("").rootfs(dir)
                .rootfsMapped(true).agentSocket(dir.resolve("a")).consoleLog(dir.resolve("c"))
                .cgroupPartition("/p").build();
    }
}
