package dev.vessel.node.runtime;

import dev.vessel.node.DaemonProcess;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * vessel-runtime as engines run it, with a root of the test's own (so its vesseld, started by the first call
 * that needs one, is the test's) and the global flags it is given (an engine's second runtime, {@code --vm}):
 * {@link Mode#NATIVE_FIRST} as bin/vessel-runtime runs it, the native program first, which hands what it does
 * not handle to a new JVM on this test's class path; {@link Mode#JAVA_ONLY} a JVM per call. Each JVM call is
 * recorded ({@link #javaCalls}). {@link #close} removes what is left: containers, the daemon, its cgroup
 * parent. Public for the VM tests.
 */
public final class RuntimeFixture implements AutoCloseable {
    public enum Mode {
        NATIVE_FIRST, JAVA_ONLY
    }

    public final Path root;
    public final Path executable;
    private final Path dir;
    private final Path javaCallLog;
    private final java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();

    /** Output of one call; stdout and stderr go to files, since a shim may keep them open after the call. */
    public record Result(int exitCode, String stdout, String stderr) {
    }

    public RuntimeFixture(Path dir, String... globalFlags) throws IOException {
        this(dir, Mode.NATIVE_FIRST, globalFlags);
    }

    public RuntimeFixture(Path dir, Mode mode, String... globalFlags) throws IOException {
        this.dir = Files.createDirectories(dir);
        this.root = dir.resolve("root");
        this.javaCallLog = dir.resolve("java-calls");
        // the Java runtime: this JVM's java and class path
        Path java = dir.resolve("vessel-runtime-java");
        Files.writeString(java, "#!/bin/sh\necho \"$*\" >> '" + javaCallLog + "'\nexec " + String.join(" ",
                javaCommand().stream().map(a -> "'" + a + "'").toList()) + " \"$@\"\n");
        // what engines are told to run, on the test's root
        this.executable = dir.resolve("vessel-runtime");
        String flags = String.join(" ", globalFlags);
        Files.writeString(executable, switch (mode) {
            case NATIVE_FIRST -> "#!/bin/sh\nexport VESSEL_RUNTIME_JAVA='" + java + "'\nexec '" + Shim.nativeProgram()
                    + "' --root '" + root + "' " + flags + " \"$@\"\n";
            case JAVA_ONLY -> "#!/bin/sh\nexec '" + java + "' --root '" + root + "' " + flags + " \"$@\"\n";
        });
        for (Path script : List.of(java, executable)) {
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    /** The calls that ran the Java runtime, one line of arguments each. */
    List<String> javaCalls() throws IOException {
        return Files.exists(javaCallLog) ? Files.readAllLines(javaCallLog) : List.of();
    }

    private static List<String> javaCommand() {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
                "-XX:+UseSerialGC", "-XX:-UsePerfData", "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), VesselRuntime.class.getName());
    }

    public Result run(String... args) throws IOException, InterruptedException {
        int call = calls.incrementAndGet(); // calls may run from several threads
        Path out = dir.resolve("call-" + call + ".out");
        Path err = dir.resolve("call-" + call + ".err");
        List<String> command = new ArrayList<>(List.of(executable.toString()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new IllegalStateException("vessel-runtime " + String.join(" ", args) + " did not end");
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    /** A call that must succeed; its stdout. */
    public String ok(String... args) throws IOException, InterruptedException {
        Result r = run(args);
        if (r.exitCode() != 0) {
            throw new AssertionError("vessel-runtime " + String.join(" ", args) + " exited " + r.exitCode() + ": "
                    + r.stderr() + daemonLog());
        }
        return r.stdout();
    }

    /** The {@code vessel} CLI against this root's daemon: Vessel's own view of the runtime's containers. */
    public String vessel(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "dev.vessel.node.cli.Vessel", "--host",
                "unix://" + root.resolve("run").resolve("vessel.sock")));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new AssertionError("vessel " + String.join(" ", args) + ": " + output);
        }
        return output;
    }

    public String daemonLog() throws IOException {
        Path log = root.resolve("vesseld.log");
        return Files.exists(log) ? "\n--- vesseld.log:\n" + Files.readString(log) : "";
    }

    /** The pid of the daemon serving the root, from its state dir's lock file; 0 when it never started. */
    public long daemonPid() throws IOException {
        Path lock = root.resolve("state").resolve("vesseld.lock");
        String pid = Files.exists(lock) ? Files.readString(lock).trim() : "";
        return pid.isEmpty() ? 0 : Long.parseLong(pid);
    }

    @Override
    public void close() throws Exception {
        if (Files.exists(root.resolve("run").resolve("vessel.sock"))) {
            for (String id : ok("list", "-q").lines().filter(l -> !l.isBlank()).toList()) {
                run("delete", "--force", id);
            }
        }
        long pid = daemonPid();
        if (pid > 0) {
            ProcessHandle.of(pid).ifPresent(daemon -> {
                daemon.destroy();
                daemon.onExit().orTimeout(60, TimeUnit.SECONDS).join();
            });
        }
        DaemonProcess.removeCgroupParent(DaemonLink.cgroupParent(root));
    }

    /** A bundle whose config.json is vessel-runtime's own spec, with {@code args} and a busybox rootfs. */
    public Path bundle(String name, Path rootfs, String... args) throws Exception {
        Path bundle = Files.createDirectories(dir.resolve(name));
        ok("spec", "--bundle", bundle.toString());
        Path config = bundle.resolve("config.json");
        String quoted = String.join(", ", java.util.Arrays.stream(args).map(JsonFields::quote).toList());
        Files.writeString(config, Files.readString(config).replaceFirst("\"args\": \\[\\s*\"sh\"\\s*]",
                java.util.regex.Matcher.quoteReplacement("\"args\": [" + quoted + "]")).replace("\"path\": \"rootfs\"", "\"path\": \"" + rootfs + "\""));
        return bundle;
    }
}
