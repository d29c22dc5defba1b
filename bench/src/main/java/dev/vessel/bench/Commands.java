package dev.vessel.bench;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** The commands the benchmarks run: timed ones, set-up ones, and the clean-up after. */
final class Commands {
    @FunctionalInterface
    interface Step {
        void run() throws Exception;
    }

    private Commands() {
    }

    /**
     * A timed command: no stdin, output dropped (reading it would be part of what is timed; /dev/null also
     * holds nothing open for a process the command leaves behind), only its exit code is checked.
     */
    static void run(ProcessBuilder pb) throws Exception {
        Process p = pb.redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", pb.command()) + " exited " + p.exitValue()
                    + " (run it by hand to see why)");
        }
    }

    static void run(String... command) throws Exception {
        run(new ProcessBuilder(command));
    }

    /** An untimed command: returns its output, or fails with it. */
    static String setup(ProcessBuilder pb) throws Exception {
        Process p = pb.redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", pb.command()) + " exited " + p.exitValue() + ":\n" + output);
        }
        return output;
    }

    static String setup(String... command) throws Exception {
        return setup(new ProcessBuilder(command));
    }

    /** An OCI layout at {@code layout} holding {@code rootfs} as one layer, made by umoci; its Vessel reference. */
    static String ociImage(Path layout, Path rootfs) throws Exception {
        setup("umoci", "init", "--layout", layout.toString());
        setup("umoci", "new", "--image", layout + ":bb");
        setup("umoci", "insert", "--image", layout + ":bb", rootfs.toString(), "/");
        return "oci:" + layout + ":bb";
    }

    /** Every mount under {@code dir}, the deepest first (podman's overlay storage leaves its home mounted). */
    static void unmountUnder(Path dir) throws Exception {
        List<String> mounts = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
            String mountPoint = line.split(" ")[4];
            if (mountPoint.startsWith(dir + "/")) {
                mounts.add(mountPoint);
            }
        }
        mounts.sort(Comparator.reverseOrder());
        for (String mountPoint : mounts) {
            setup("umount", mountPoint);
        }
    }

    /** Runs every step even when an earlier one failed; then throws the first failure, the others suppressed. */
    static void allSteps(List<Step> steps) throws Exception {
        List<Exception> failures = new ArrayList<>();
        for (Step step : steps) {
            try {
                step.run();
            } catch (Exception e) {
                failures.add(e);
            }
        }
        if (!failures.isEmpty()) {
            Exception first = failures.getFirst();
            failures.stream().skip(1).forEach(first::addSuppressed);
            throw first;
        }
    }
}
