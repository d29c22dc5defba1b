package dev.vessel.node.runtime;

import dev.vessel.launcher.process.BusyboxRootfs;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/**
 * Debian's podman 4.3 with {@code --runtime} pointing at a {@link RuntimeFixture}'s vessel-runtime: its
 * storage, run root, network configuration and containers.conf all in the test's directory, so the host's
 * podman state is untouched. {@link #IMAGE} is a busybox rootfs imported from a tarball. Public for the VM
 * tests.
 */
public final class PodmanFixture implements AutoCloseable {
    public static final String IMAGE = "localhost/vessel-busybox:test";

    public final Path dir;
    private final RuntimeFixture runtime;

    public record Result(int exitCode, String output) {
    }

    public PodmanFixture(Path dir, RuntimeFixture runtime) throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/podman"))) {
            throw new IllegalStateException("podman is not installed (apt-get install podman): the test needs it");
        }
        this.dir = dir;
        this.runtime = runtime;
        Files.writeString(dir.resolve("containers.conf"), """
                [containers]
                default_ulimits = []
                [engine]
                cgroup_manager = "cgroupfs"
                events_logger = "file"
                """);
        Files.createDirectories(dir.resolve("cni"));
        Path rootfs = BusyboxRootfs.create(dir.resolve("image-rootfs"));
        Path tar = dir.resolve("rootfs.tar");
        exec(List.of("tar", "-C", rootfs.toString(), "-cf", tar.toString(), "."));
        ok("import", tar.toString(), IMAGE);
    }

    /** Removes every container and podman's storage (which mounts under the test's directory). */
    @Override
    public void close() throws Exception {
        podman("rm", "--all", "--force");
        podman("system", "reset", "--force");
    }

    /** The podman command line with the test's storage, run root, network configuration and runtime. */
    public List<String> command(String... args) {
        List<String> command = new ArrayList<>(List.of("podman", "--root", dir.resolve("storage").toString(),
                "--runroot", dir.resolve("runroot").toString(), "--network-config-dir", dir.resolve("cni").toString(),
                "--tmpdir", dir.resolve("libpod").toString(), "--runtime", runtime.executable.toString()));
        command.addAll(List.of(args));
        return command;
    }

    public Result podman(String... args) throws IOException, InterruptedException {
        return exec(command(args));
    }

    /**
     * The body served at {@code url} once something answers there (a published port whose server is starting),
     * tried until {@code patience} passed; then fails with what {@code why} says.
     */
    public static String awaitServed(String url, Duration patience, Callable<String> why) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest get = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(5)).build();
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            try {
                return http.send(get, HttpResponse.BodyHandlers.ofString()).body();
            } catch (IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("nothing answered at " + url + ": " + why.call(), e);
                }
                Thread.sleep(200);
            }
        }
    }

    /** A podman call that must succeed; its output. */
    public String ok(String... args) throws IOException, InterruptedException {
        Result r = podman(args);
        if (r.exitCode() != 0) {
            throw new AssertionError("podman " + String.join(" ", args) + " exited " + r.exitCode() + ": "
                    + r.output() + runtime.daemonLog());
        }
        return r.output();
    }

    private Result exec(List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile(dir, "podman", ".out");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
        builder.environment().put("CONTAINERS_CONF", dir.resolve("containers.conf").toString());
        Process p = builder.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError(String.join(" ", command) + " did not end: " + Files.readString(out));
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
    }
}
