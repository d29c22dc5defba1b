package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.model.VmOptions;
import dev.vessel.launcher.vm.template.GuestTemplate;
import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * VM tasks restored from a guest template instead of booted: real guests, real libvirt, the node's guest on a copy
 * of the built artifacts (so that a test can make it "an older image"). Which guest ran a task is told by its
 * QEMU (the task's pid): a restored one waited for its state ({@code -incoming defer}) and maps the template's
 * memory file.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class VmTemplateTest {
    /** The first line of a mapping in smaps: its address range. */
    private static final java.util.regex.Pattern MAPPING = java.util.regex.Pattern.compile("[0-9a-f]+-[0-9a-f]+ ");
    private static Path dir;
    private static Path artifacts;
    private static ImageReference image;
    private static VmNode node;

    @BeforeAll
    static void startNode() throws Exception {
        dir = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-templatetest-");
        artifacts = Files.createDirectories(dir.resolve("guest"));
        StringBuilder description = new StringBuilder();
        for (String line : Files.readAllLines(VmNode.artifactsDir().resolve("artifacts.properties"))) {
            String[] kv = line.split("=", 2);
            if (kv.length == 2 && List.of("kernel", "initrd", "software").contains(kv[0])) {
                Path source = VmNode.artifactsDir().toAbsolutePath().resolve(kv[1]);
                Files.copy(source, artifacts.resolve(source.getFileName()));
                line = kv[0] + "=" + source.getFileName();
            }
            description.append(line).append('\n');
        }
        Files.writeString(artifacts.resolve("artifacts.properties"), description);
        image = VmNode.busyboxImage(dir);
        node = new VmNode(dir, List.of(), artifacts).recovered();
        node.launcher.startTemplates();
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (node != null) {
            node.destroyAllAndClose();
            // closing the launcher removes its template: nothing of it, no guest, no mount may remain
            assertEquals(List.of(), node.paths.vmTemplateDirs(), "templates left");
            assertEquals(List.of(), list(node.paths.vmPoolDir()), "guests' directories left");
            assertEquals(List.of(), Mounts.mountPoints().stream().filter(p -> p.startsWith(dir)).toList(), "mounts left");
        }
        VmNode.run("rm", "-rf", dir.toString());
    }

    private static ContainerConfig.Builder vmTask(String id, String script) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.VM).setImage(image)
                .addAllCommand(List.of("/bin/sh", "-c", script));
    }

    @Test
    void tasksAreRestoredFromTheTemplateSharingItsPagesEachWithItsOwnRandomnessAndTheHostsClock() throws Exception {
        GuestTemplate template = awaitTemplate(null);
        // the template's clock stands still from its save: a restored guest that did not step its clock would lag
        Thread.sleep(6000);
        String script = "date +%s; od -An -N16 -tx1 /dev/urandom | tr -d ' '; echo up; while [ ! -e /tmp/gate ]; do sleep 0.1; done; exit 3";
        node.containerizer.launch(vmTask("t-one", script).build());
        node.containerizer.launch(vmTask("t-two", script).build());
        node.awaitStdoutContains("t-one", "up\n");
        node.awaitStdoutContains("t-two", "up\n");
        long now = System.currentTimeMillis() / 1000;
        long one = node.containerizer.status("t-one").getPid();
        long two = node.containerizer.status("t-two").getPid();
        for (long qemu : List.of(one, two)) {
            assertTrue(commandLine(qemu).contains("-incoming\0defer"), "the task's guest was booted, not restored");
        }
        // both QEMUs map the template's memory file, and pages of it are mapped by both: shared, not copied
        for (long qemu : List.of(one, two)) {
            assertTrue(sharedCleanKib(qemu, GuestTemplate.memory(template.dir())) >= 4096,
                    "QEMU " + qemu + " shares under 4 MiB of the template's memory file");
        }
        List<String> first = node.stdout("t-one").lines().toList();
        List<String> second = node.stdout("t-two").lines().toList();
        assertNotEquals(first.get(1), second.get(1), "two restored guests read the same random bytes");
        assertEquals(32, first.get(1).length(), first.toString());
        for (List<String> out : List.of(first, second)) {
            assertTrue(Math.abs(Long.parseLong(out.get(0)) - now) <= 3, "the guest's clock is " + out.get(0)
                    + ", the host's " + now);
        }

        for (String id : List.of("t-one", "t-two")) {
            Files.createFile(rootfsInGuestShare(node.containerizer.status(id).getPid()).resolve("tmp/gate"));
            Termination t = node.containerizer.wait(id).get(3, TimeUnit.MINUTES);
            assertEquals(TerminationReason.EXITED, t.getReason(), t::toString);
            assertEquals(3, t.getExitCode(), t::toString);
            node.containerizer.remove(id);
        }
        assertFalse(VmNode.isRunning(one) || VmNode.isRunning(two), "a restored guest's QEMU runs on");
        assertEquals(List.of(), list(node.paths.vmPoolDir()), "a restored guest's directory is left");
        assertEquals(template, node.launcher.guestTemplate().orElseThrow(), "the template is used again, not rebuilt");
    }

    @Test
    void aTemplateWrittenSinceItWasSavedIsNeverRestoredButBuiltAgain() throws Exception {
        GuestTemplate template = awaitTemplate(null);
        try (FileChannel memory = FileChannel.open(GuestTemplate.memory(template.dir()), StandardOpenOption.WRITE)) {
            memory.write(ByteBuffer.wrap(new byte[] {1}), 4096); // what a QEMU taken over could do
        }
        runsBooted("t-altered");
        assertFalse(Files.exists(template.dir()), "the altered template is left");
        GuestTemplate rebuilt = awaitTemplate(template);
        runsRestored("t-after-alteration", rebuilt);
    }

    @Test
    void aTemplateOfAnOlderGuestImageIsNeverRestoredButBuiltAgain() throws Exception {
        GuestTemplate template = awaitTemplate(null);
        Path initrd = artifacts.resolve("initramfs.cpio.lz4");
        Files.write(initrd, Files.readAllBytes(initrd)); // rebuilt in place: a new guest image, as far as anyone knows
        runsBooted("t-new-image");
        assertFalse(Files.exists(template.dir()), "the older template is left");
        runsRestored("t-after-new-image", awaitTemplate(template));
    }

    @Test
    void aTaskThatDoesNotFitTheTemplateBoots() throws Exception {
        GuestTemplate template = awaitTemplate(null);
        ContainerConfig big = vmTask("t-big", "echo big").setVm(VmOptions.newBuilder().setMemoryBytes(640L << 20)).build();
        node.containerizer.launch(big);
        assertFalse(commandLine(node.containerizer.status("t-big").getPid()).contains("-incoming"));
        assertEquals(0, node.containerizer.wait("t-big").get(3, TimeUnit.MINUTES).getExitCode());
        node.containerizer.remove("t-big");
        assertEquals(template, node.launcher.guestTemplate().orElseThrow());
    }

    @Test
    void aRestartedNodeFindsTheRestoredTaskAndItsExitAndBuildsAFreshTemplate() throws Exception {
        GuestTemplate template = awaitTemplate(null);
        node.containerizer.launch(vmTask("t-survivor",
                "echo started; while [ ! -e /tmp/gate ]; do sleep 0.1; done; echo finished; exit 4").build());
        node.awaitStdout("t-survivor", "started\n");
        long qemu = node.containerizer.status("t-survivor").getPid();
        assertTrue(commandLine(qemu).contains("-incoming\0defer"));
        Path share = rootfsInGuestShare(qemu);

        node.close(); // the daemon goes: the restored guest runs on; the template goes (the next daemon's is fresh)
        Files.createFile(share.resolve("tmp/gate"));
        node = new VmNode(dir, List.of(), artifacts).recovered();
        node.launcher.startTemplates();

        Termination t = node.containerizer.wait("t-survivor").get(3, TimeUnit.MINUTES);
        assertEquals(4, t.getExitCode(), t::toString);
        assertEquals("started\nfinished\n", node.stdout("t-survivor"));
        node.containerizer.remove("t-survivor");
        assertFalse(Files.exists(template.dir()), "the earlier daemon's template is left");
        runsRestored("t-after-restart", awaitTemplate(template));
    }

    /** Last: once a pool runs, tasks that fit are served by it, which the tests above must not see. */
    @Test
    @Order(Integer.MAX_VALUE)
    void theWarmPoolIsFilledWithGuestsRestoredFromTheTemplate() throws Exception {
        GuestTemplate template = awaitTemplate(null);
        node.launcher.startWarmPool(1);
        String warm = awaitWarmGuest(null);
        long warmQemu = WarmPoolTest.qemuPid(warm);
        assertTrue(commandLine(warmQemu).contains("-incoming\0defer"), "the pool's guest was booted, not restored");
        assertTrue(mapsTemplate(warmQemu, template), "the pool's guest does not map " + template.name());
        List<Integer> requests = WarmPoolTest.ninePRequests(warm); // its warm-up after the restore mounted its shares
        assertTrue(requests.size() == 2 && requests.stream().allMatch(n -> n > 0), "shares not mounted ahead: " + requests);

        node.containerizer.launch(vmTask("t-pooled", "od -An -N8 -tx1 /dev/urandom | tr -d ' '; exit 5").build());
        assertEquals(warmQemu, node.containerizer.status("t-pooled").getPid(), "the task did not get the pool's guest");
        Termination t = node.containerizer.wait("t-pooled").get(3, TimeUnit.MINUTES);
        assertEquals(5, t.getExitCode(), t::toString);
        assertEquals(17, node.stdout("t-pooled").length(), node.stdout("t-pooled"));
        node.containerizer.remove("t-pooled");

        String replacement = awaitWarmGuest(warm); // refilled from the template too
        long replacementQemu = WarmPoolTest.qemuPid(replacement);
        assertTrue(commandLine(replacementQemu).contains("-incoming\0defer"), "the refill was booted, not restored");
        assertEquals(template, node.launcher.guestTemplate().orElseThrow(), "the template is used again, not rebuilt");
    }

    /** Waits until the pool holds one ready guest other than {@code not}; its domain's name. */
    private static String awaitWarmGuest(String not) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < deadline) {
            List<Path> dirs = list(node.paths.vmPoolDir());
            if (node.launcher.warmGuestsReady() == 1 && dirs.size() == 1
                    && !dirs.get(0).getFileName().toString().equals(not)) {
                return dirs.get(0).getFileName().toString();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no warm guest became ready in 3 minutes: " + list(node.paths.vmPoolDir()));
    }

    private void runsBooted(String id) throws Exception {
        node.containerizer.launch(vmTask(id, "echo booted").build());
        assertFalse(commandLine(node.containerizer.status(id).getPid()).contains("-incoming"),
                "the task was restored from a template it must not trust");
        assertEquals(0, node.containerizer.wait(id).get(3, TimeUnit.MINUTES).getExitCode());
        assertEquals("booted\n", node.stdout(id));
        node.containerizer.remove(id);
    }

    private void runsRestored(String id, GuestTemplate template) throws Exception {
        node.containerizer.launch(vmTask(id, "echo restored").build());
        long qemu = node.containerizer.status(id).getPid();
        assertTrue(commandLine(qemu).contains("-incoming\0defer"), "the task's guest was booted, not restored");
        assertTrue(mapsTemplate(qemu, template), "the task's guest does not map " + template.name());
        assertEquals(0, node.containerizer.wait(id).get(3, TimeUnit.MINUTES).getExitCode());
        assertEquals("restored\n", node.stdout(id));
        node.containerizer.remove(id);
    }

    /** Waits until a template other than {@code not} is built and in use. */
    private static GuestTemplate awaitTemplate(GuestTemplate not) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < deadline) {
            var current = node.launcher.guestTemplate();
            if (current.isPresent() && !current.get().equals(not)) {
                return current.get();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no guest template was built in 3 minutes");
    }

    /** Whether QEMU {@code pid} maps {@code template}'s memory file. */
    private static boolean mapsTemplate(long pid, GuestTemplate template) throws IOException {
        return Files.readString(Path.of("/proc/" + pid + "/maps"))
                .contains(GuestTemplate.memory(template.dir()).toString());
    }

    private static String commandLine(long pid) throws IOException {
        return Files.readString(Path.of("/proc/" + pid + "/cmdline"));
    }

    /** What of {@code file}'s mapping in process {@code pid} is also mapped by another process, in KiB. */
    private static long sharedCleanKib(long pid, Path file) throws IOException {
        boolean inMapping = false;
        long kib = 0;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            if (MAPPING.matcher(line).lookingAt()) {
                inMapping = line.endsWith(" " + file);
            } else if (inMapping && line.startsWith("Shared_Clean:")) {
                kib += Long.parseLong(line.replaceAll("[^0-9]", ""));
            }
        }
        return kib;
    }

    /** The rootfs a restored guest's task sees, as bound into its guest's share on the host. */
    private static Path rootfsInGuestShare(long qemu) throws IOException {
        for (Path guest : list(node.paths.vmPoolDir())) {
            if (commandLine(qemu).contains(guest.toString())) {
                return guest.resolve("share/root");
            }
        }
        throw new AssertionError("no guest directory of QEMU " + qemu + " under " + node.paths.vmPoolDir());
    }

    private static List<Path> list(Path directory) throws IOException {
        if (!Files.isDirectory(directory)) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(directory)) {
            return entries.sorted().toList();
        }
    }
}
