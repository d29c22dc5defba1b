package dev.vessel.bench;

import dev.vessel.core.model.ImageReference;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.provisioner.ImageProvisioner;
import dev.vessel.provisioner.reference.ImageReferenceParser;
import dev.vessel.provisioner.registry.BlobProgress;
import dev.vessel.provisioner.registry.CredentialsProvider;
import dev.vessel.provisioner.registry.RegistryTransport;
import dev.vessel.provisioner.rootfs.CopyBackend;
import dev.vessel.provisioner.store.BlobHolder;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Pull of a three-layer image (busybox, 4 MiB of random data, small files) from a docker-registry
 * on loopback into an empty store (cold) and into a store that has every blob (warm): Vessel's
 * puller against {@code skopeo copy docker://… oci:…}, alternating, in the same run.
 */
public final class ImagePullBench {
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 15);
    private static final int WARMUP = 3;

    private ImagePullBench() {
    }

    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory("vessel-pull-bench");
        Process registry = null;
        try {
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            registry = startRegistry(work.resolve("registry"), port);
            String image = "127.0.0.1:" + port + "/bench/three:v1";
            pushImage(work, image);
            ImageReference ref = ImageReferenceParser.parse(image);

            List<Double> vesselCold = new ArrayList<>();
            List<Double> skopeoCold = new ArrayList<>();
            List<Double> vesselWarm = new ArrayList<>();
            List<Double> skopeoWarm = new ArrayList<>();
            Path warmState = work.resolve("warm-state");
            ImageProvisioner warm = provisioner(warmState);
            warm.pull(ref, BlobProgress.Listener.NONE);
            Path warmOci = work.resolve("warm-oci");
            skopeo(image, warmOci);
            for (int i = 0; i < WARMUP + ROUNDS; i++) {
                Path state = work.resolve("cold-state-" + i);
                double vc = time(() -> provisioner(state).pull(ref, BlobProgress.Listener.NONE));
                Path oci = work.resolve("cold-oci-" + i);
                double sc = time(() -> skopeo(image, oci));
                double vw = time(() -> warm.pull(ref, BlobProgress.Listener.NONE));
                double sw = time(() -> skopeo(image, warmOci));
                if (i >= WARMUP) {
                    vesselCold.add(vc);
                    skopeoCold.add(sc);
                    vesselWarm.add(vw);
                    skopeoWarm.add(sw);
                }
            }
            System.out.printf(Locale.ROOT, "image-pull: 3-layer image (%.1f MiB compressed) from a loopback registry, "
                    + "%d alternating rounds after %d warm-up%n", sizeMiB(warmState.resolve("blobs")), ROUNDS, WARMUP);
            System.out.printf(Locale.ROOT, "%-14s %9s %9s %9s%n", "pull", "median", "min", "max");
            row("vessel cold", vesselCold);
            row("skopeo cold", skopeoCold);
            row("vessel warm", vesselWarm);
            row("skopeo warm", skopeoWarm);
            json("image-pull-cold", vesselCold, skopeoCold);
            json("image-pull-warm", vesselWarm, skopeoWarm);
        } finally {
            if (registry != null) {
                registry.destroy();
                registry.waitFor();
            }
            Stats.deleteTree(work);
        }
    }

    private static ImageProvisioner provisioner(Path state) throws IOException {
        RuntimePaths paths = new RuntimePaths(state, state.resolve("run"));
        return new ImageProvisioner(paths, CredentialsProvider.NONE, RegistryTransport.Options.DEFAULTS, new CopyBackend(),
                BlobHolder.NONE);
    }

    private static void skopeo(String image, Path oci) throws Exception {
        run("skopeo", "copy", "--quiet", "--src-tls-verify=false", "docker://" + image, "oci:" + oci + ":v1");
    }

    /** Three layers made by umoci, pushed with skopeo. */
    private static void pushImage(Path work, String image) throws Exception {
        Path layout = work.resolve("layout");
        run("umoci", "init", "--layout", layout.toString());
        run("umoci", "new", "--image", layout + ":v1");
        for (int layer = 0; layer < 3; layer++) {
            Path bundle = work.resolve("bundle" + layer);
            run("umoci", "unpack", "--image", layout + ":v1", bundle.toString());
            Path root = bundle.resolve("rootfs");
            switch (layer) {
                case 0 -> {
                    Files.createDirectories(root.resolve("bin"));
                    Files.copy(Path.of("/bin/busybox"), root.resolve("bin/busybox"));
                }
                case 1 -> {
                    byte[] data = new byte[4 << 20];
                    new Random(1).nextBytes(data); // incompressible: the transfer is what is measured
                    Files.createDirectories(root.resolve("data"));
                    Files.write(root.resolve("data/blob"), data);
                }
                default -> {
                    Files.createDirectories(root.resolve("etc"));
                    for (int f = 0; f < 200; f++) {
                        Files.writeString(root.resolve("etc/file" + f), "config " + f + "\n");
                    }
                }
            }
            run("umoci", "repack", "--image", layout + ":v1", bundle.toString());
        }
        run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", "oci:" + layout + ":v1", "docker://" + image);
    }

    private static Process startRegistry(Path dir, int port) throws Exception {
        Files.createDirectories(dir.resolve("storage"));
        Path config = dir.resolve("config.yml");
        Files.writeString(config, """
                version: 0.1
                log:
                  level: warn
                  accesslog:
                    disabled: true
                storage:
                  filesystem:
                    rootdirectory: %s
                http:
                  addr: 127.0.0.1:%d
                """.formatted(dir.resolve("storage"), port));
        Process p = new ProcessBuilder("docker-registry", "serve", config.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile()).start();
        try (HttpClient http = HttpClient.newHttpClient()) {
            for (int i = 0; i < 100; i++) {
                try {
                    http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v2/")).build(),
                            HttpResponse.BodyHandlers.discarding());
                    return p;
                } catch (IOException notYet) {
                    Thread.sleep(50);
                }
            }
        }
        p.destroy();
        throw new IllegalStateException("docker-registry did not start: " + Files.readString(dir.resolve("registry.log")));
    }

    @FunctionalInterface
    private interface Action {
        void run() throws Exception;
    }

    private static double time(Action action) throws Exception {
        long t0 = System.nanoTime();
        action.run();
        return (System.nanoTime() - t0) / 1e6;
    }

    private static void run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed: " + out);
        }
    }

    private static void row(String name, List<Double> ms) {
        List<Double> s = ms.stream().sorted().toList();
        System.out.printf(Locale.ROOT, "%-14s %7.2fms %7.2fms %7.2fms%n", name, Stats.median(s), s.getFirst(), s.getLast());
    }

    private static void json(String bench, List<Double> vessel, List<Double> skopeo) {
        double v = Stats.median(vessel);
        double b = Stats.median(skopeo);
        System.out.printf(Locale.ROOT, "{\"bench\":\"%s\",\"vessel_ms\":%.2f,\"baseline\":\"skopeo\",\"baseline_ms\":%.2f,"
                + "\"ratio\":%.3f,\"runs\":%d}%n", bench, v, b, v / b, vessel.size());
    }

    private static double sizeMiB(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            return walk.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum() / 1048576.0;
        }
    }
}
