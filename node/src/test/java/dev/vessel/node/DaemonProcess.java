package dev.vessel.node;

import dev.vessel.launcher.vm.domain.CgroupPartition;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import dev.vessel.node.daemon.Vesseld;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** A real vesseld in its own JVM, on the test's directories; its output goes to a log file the failures quote. */
public final class DaemonProcess {
    final Path stateDir;
    final Path runDir;
    public final Path socket;
    final Path log;
    private final Process process;

    private DaemonProcess(Path stateDir, Path runDir, Path socket, Path log, Process process) {
        this.stateDir = stateDir;
        this.runDir = runDir;
        this.socket = socket;
        this.log = log;
        this.process = process;
    }

    public static void requireRoot() {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("the node tests must run as root (cgroups, namespaces, mounts); running as '"
                    + System.getProperty("user.name") + "'");
        }
    }

    /** Starts a daemon on {@code dir}'s state/ and run/ with the cgroup parent given; returns once it serves. */
    public static DaemonProcess start(Path dir, String cgroupParent, String... extraArgs) throws Exception {
        return start(dir, cgroupParent, Map.of(), extraArgs);
    }

    /** As {@link #start(Path, String, String...)}, with {@code env} added to the daemon's environment. */
    public static DaemonProcess start(Path dir, String cgroupParent, Map<String, String> env, String... extraArgs)
            throws Exception {
        return await(launch(dir, cgroupParent, "daemon-" + System.nanoTime() + ".log", env, List.of(), extraArgs));
    }

    /**
     * As {@link #start(Path, String, String...)}, the daemon in the network namespace {@code netns} (a file, as
     * {@code ip netns add} makes): the bridges, veths and iptables rules of the CNI networks it runs then live
     * there, and go with the namespace. Only the network namespace changes: the daemon sees the host's mounts.
     */
    public static DaemonProcess startIn(Path netns, Path dir, String cgroupParent, String... extraArgs) throws Exception {
        return await(launch(dir, cgroupParent, "daemon-" + System.nanoTime() + ".log", Map.of(),
                List.of("nsenter", "--net=" + netns), extraArgs));
    }

    private static DaemonProcess await(DaemonProcess d) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.readString(d.log).contains("vesseld ready")) {
            if (!d.process.isAlive() || System.nanoTime() > deadline) {
                d.process.destroyForcibly().waitFor();
                throw new IllegalStateException("vesseld did not start:\n" + Files.readString(d.log));
            }
            Thread.sleep(50);
        }
        return d;
    }

    /** Starts a daemon without waiting for it: for one expected to refuse to start. */
    static DaemonProcess launch(Path dir, String cgroupParent, String logName, String... extraArgs) throws IOException {
        return launch(dir, cgroupParent, logName, Map.of(), List.of(), extraArgs);
    }

    static DaemonProcess launch(Path dir, String cgroupParent, String logName, Map<String, String> env,
            List<String> prefix, String... extraArgs) throws IOException {
        Path stateDir = dir.resolve("state");
        Path runDir = dir.resolve("run");
        Path socket = runDir.resolve("vessel.sock");
        Path log = Files.createDirectories(dir).resolve(logName);
        List<String> command = new ArrayList<>(prefix);
        command.addAll(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Vesseld.class.getName(), "--state-dir", stateDir.toString(), "--run-dir", runDir.toString(),
                "--socket", socket.toString(), "--cgroup-parent", cgroupParent));
        command.addAll(List.of(extraArgs));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().putAll(env);
        Process process = builder.start();
        return new DaemonProcess(stateDir, runDir, socket, log, process);
    }

    public Path stateDir() {
        return stateDir;
    }

    public Path runDir() {
        return runDir;
    }

    public boolean alive() {
        return process.isAlive();
    }

    long pid() {
        return process.pid();
    }

    int awaitExit() throws InterruptedException {
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
            throw new IllegalStateException("vesseld did not exit");
        }
        return process.exitValue();
    }

    public String output() throws IOException {
        return Files.readString(log);
    }

    /** SIGTERM, the clean stop. */
    public int stop() throws InterruptedException {
        process.destroy();
        return awaitExit();
    }

    /** SIGKILL: no shutdown hook runs. */
    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        awaitExit();
    }

    /** Removes a test daemon's cgroup parent, and the partition its VMs' domains ran under (as the daemon names it). */
    public static void removeCgroupParent(String parent) throws IOException {
        for (CgroupHierarchy h : CgroupHierarchies.detect().all()) {
            // the kernel may say EBUSY for a moment after the last child went
            for (int attempt = 0; ; attempt++) {
                try {
                    Files.deleteIfExists(h.mountPoint().resolve(parent));
                    break;
                } catch (java.nio.file.FileSystemException e) {
                    if (attempt >= 500) {
                        throw e;
                    }
                    try {
                        Thread.sleep(10);
                    } catch (InterruptedException interrupted) {
                        Thread.currentThread().interrupt();
                        throw e;
                    }
                }
            }
        }
        CgroupPartition.of("/" + parent + "-vms").removeIfEmpty(); // a daemon that was killed could not
    }
}
