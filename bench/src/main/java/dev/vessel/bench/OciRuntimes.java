package dev.vessel.bench;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The OCI runtimes Vessel is measured against, run as their users run them: a bundle made by
 * {@code runc spec}, and the commands for {@code runc run} and {@code crun run}. crun refuses a hybrid
 * cgroup host; on one, {@code bench/run} starts the benchmarks in a mount namespace without the
 * cgroup2 mount, so crun runs bare.
 */
final class OciRuntimes {
    private OciRuntimes() {
    }

    /**
     * {@code runc spec}'s default, run as root, with {@code /bin/true} and our rootfs. Its network
     * namespace is removed, as creating one costs time; the process bench's Vessel config names the
     * network {@code host} for the same reason.
     */
    static Path bundle(Path dir, Path rootfs) throws Exception {
        Files.createDirectories(dir);
        Process spec = new ProcessBuilder("runc", "spec").directory(dir.toFile()).inheritIO().start();
        if (spec.waitFor() != 0) {
            throw new IllegalStateException("runc spec failed");
        }
        Path config = dir.resolve("config.json");
        String json = Files.readString(config)
                .replace("\"terminal\": true", "\"terminal\": false")
                .replaceFirst("\"args\": \\[\\s*\"sh\"\\s*\\]", "\"args\": [\"/bin/true\"]")
                .replace("\"path\": \"rootfs\"", "\"path\": \"" + rootfs + "\"")
                .replaceFirst("\\{\\s*\"type\": \"network\"\\s*},\\s*", "");
        if (json.contains("\"network\"") || !json.contains("/bin/true")) {
            throw new IllegalStateException("runc spec's config.json changed shape; adjust OciRuntimes.bundle");
        }
        Files.writeString(config, json);
        return dir;
    }

    static String[] runcRun(Path state, Path bundle, String id) {
        return new String[] {"runc", "--root", state.toString(), "run", "--bundle", bundle.toString(), id};
    }

    static String[] crunRun(Path state, Path bundle, String id) {
        return new String[] {"crun", "--root", state.toString(), "run", "--bundle", bundle.toString(), id};
    }

    /** Runs a command to its end, its output dropped (reading it would be part of what is timed). */
    static void exec(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectErrorStream(true).start();
        int rc = p.waitFor();
        if (rc != 0) {
            throw new IllegalStateException(String.join(" ", command) + " exited " + rc);
        }
    }
}
