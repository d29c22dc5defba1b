package dev.vessel.launcher.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vessel.core.checkpoint.Checkpoint;
import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/** What every real-container test needs: root, busybox, a busybox rootfs, and process checks. */
final class Fixtures {
    private Fixtures() {
    }

    /** These tests start real containers: without root or busybox they fail, loudly, instead of skipping. */
    static void requireEnvironment() throws IOException {
        int uid = (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        assertEquals(0, uid, "process container tests must run as root (namespaces, pivot_root, mounts)");
        assertTrue(Files.isExecutable(BusyboxRootfs.HOST_BUSYBOX), "process container tests need a static /bin/busybox "
                + "(apt-get install busybox-static) to build their rootfs");
        assertTrue(LaunchHelper.class.getResource("vessel-launch") != null,
                "vessel-launch was not built: run the tests through Maven, which compiles it with gcc");
    }

    /** The shared busybox rootfs, plus a file that is not executable. */
    static Path busyboxRootfs(Path root) throws Exception {
        BusyboxRootfs.create(root);
        Files.writeString(root.resolve("etc/motd"), "not a program\n");
        return root;
    }

    static ContainerConfig.Builder config(Path rootfs, String id, String... command) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS)
                .addAllCommand(List.of(command)).setHostRootfs(rootfs.toString());
    }

    /** The file's text, empty if it does not exist (read as a stream: procfs file sizes lie). */
    static String read(Path file) throws IOException {
        try (java.io.InputStream in = Files.newInputStream(file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.nio.file.NoSuchFileException e) {
            return "";
        }
    }

    static Path containerDir(RuntimePaths paths, String id) {
        return paths.containerDir(List.of(id));
    }

    /** A recovered containerizer over {@code paths} with {@code launcher} alone, as the launcher's tests use. */
    static UnifiedContainerizer containerizer(RuntimePaths paths, ProcessLauncher launcher) {
        UnifiedContainerizer containerizer = UnifiedContainerizer.builder(paths,
                new ConfigValidator(NodeCapacity.detect())).launcher(launcher).build();
        containerizer.recover();
        return containerizer;
    }

    /** Pids of running vessel-launch helpers started from {@code helper}. */
    static List<Long> helperProcesses(Path helper) throws IOException {
        List<Long> pids = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    if (Files.readSymbolicLink(p.resolve("exe")).equals(helper)) {
                        pids.add(Long.parseLong(name));
                    }
                } catch (IOException e) {
                    // gone meanwhile, or a kernel thread
                }
            }
        }
        return pids;
    }

    /** What a launcher is told about container {@code id} of {@code containerizer}. */
    static ContainerContext context(UnifiedContainerizer containerizer, RuntimePaths paths, String id) {
        Path dir = containerDir(paths, id);
        return new Context(id, containerizer.config(id), dir, Checkpoint.at(paths.launcherCheckpoint(dir)));
    }

    private record Context(String containerId, ContainerConfig config, Path containerDir, Checkpoint checkpoint)
            implements ContainerContext {
    }

    /** What an attached client has read: the output, and the EXIT status once it came (else null). */
    static final class Received {
        final StringBuilder stdout = new StringBuilder();
        final StringBuilder stderr = new StringBuilder();
        Integer exit;
    }

    /** Reads frames into {@code into} until its stdout holds {@code text} (or the stream ends). */
    static Received readUntil(StdioChannel channel, Received into, String text) throws IOException {
        while (!into.stdout.toString().contains(text)) {
            if (!readOne(channel, into)) {
                break;
            }
        }
        return into;
    }

    /** Reads frames into {@code into} until the stream ends (after EXIT, the monitor closes it). */
    static Received readToEnd(StdioChannel channel, Received into) throws IOException {
        while (readOne(channel, into)) {
            // all of it
        }
        return into;
    }

    private static boolean readOne(StdioChannel channel, Received into) throws IOException {
        StdioFrame f = channel.read();
        if (f == null) {
            return false;
        }
        switch (f.type()) {
            case STDOUT -> into.stdout.append(new String(f.payload(), StandardCharsets.UTF_8));
            case STDERR -> into.stderr.append(new String(f.payload(), StandardCharsets.UTF_8));
            case EXIT -> into.exit = f.exitStatus();
            default -> fail("a monitor sent " + f);
        }
        return true;
    }

    static StdioFrame stdin(String text) {
        return StdioFrame.stdin(text.getBytes(StandardCharsets.UTF_8));
    }

    /** What the process launcher saved for container {@code id}: its helper's and task's pids. */
    static ProcessTaskCheckpoint checkpoint(RuntimePaths paths, String id) {
        return Checkpoint.at(paths.launcherCheckpoint(containerDir(paths, id))).load(ProcessLauncher.CODEC).orElseThrow();
    }

    /** The state letter of {@code pid} (field 3 of its stat: R, S, Z...), empty when there is no such process. */
    static String state(long pid) throws IOException {
        String stat = read(Path.of("/proc", Long.toString(pid), "stat"));
        return stat.isEmpty() ? "" : stat.substring(stat.lastIndexOf(')') + 2).split(" ")[0];
    }

    /** Pids of this JVM's children that have exited and wait to be reaped. */
    static List<Long> zombieChildren() throws IOException {
        String self = Long.toString(ProcessHandle.current().pid());
        List<Long> zombies = new ArrayList<>();
        try (Stream<Path> procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.toList()) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                String stat = read(p.resolve("stat"));
                String[] fields = stat.isEmpty() ? new String[0] : stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                if (fields.length > 1 && fields[0].equals("Z") && fields[1].equals(self)) {
                    zombies.add(Long.parseLong(name));
                }
            }
        }
        return zombies;
    }

    /** The host pids of the children of {@code pid}. */
    static List<Long> children(long pid) throws IOException {
        String children = read(Path.of("/proc", Long.toString(pid), "task", Long.toString(pid), "children")).trim();
        return children.isEmpty() ? List.of() : Stream.of(children.split(" ")).map(Long::parseLong).toList();
    }

    /** Polls {@code condition} for up to 10 s; on timeout, fails with what {@code diagnostics} says. */
    @FunctionalInterface
    interface Diagnostics {
        String get() throws Exception;
    }

    static void await(String what, Diagnostics diagnostics, BooleanSupplier condition) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for " + what + ": " + diagnostics.get());
            }
            Thread.sleep(10);
        }
    }
}
