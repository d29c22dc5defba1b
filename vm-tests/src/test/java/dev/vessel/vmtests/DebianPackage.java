package dev.vessel.vmtests;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The Debian package scripts/package makes from this build (its jars, native clients and guest, which the reactor
 * has built by the time this module's tests run), made once for the tests that read or install it.
 */
final class DebianPackage {
    private static final Path CHECKOUT = Path.of("..").toAbsolutePath().normalize();
    private static Path built;

    private DebianPackage() {
    }

    static synchronized Path built() throws IOException, InterruptedException {
        if (built == null) {
            Path output = Files.createDirectories(Path.of("target/package").toAbsolutePath());
            try (Stream<Path> old = Files.list(output)) {
                for (Path file : old.toList()) {
                    Files.delete(file);
                }
            }
            Path log = output.resolve("package.log");
            Process p = new ProcessBuilder(CHECKOUT.resolve("scripts/package").toString(), "--no-build", "--output",
                    output.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
                p.destroyForcibly();
                throw new IllegalStateException("scripts/package failed:\n" + Files.readString(log));
            }
            try (Stream<Path> debs = Files.list(output).filter(f -> f.toString().endsWith("_amd64.deb"))) {
                built = debs.findFirst().orElseThrow(() -> new IllegalStateException("no .deb in " + output));
            }
        }
        return built;
    }

    /** A command's standard output; its failure is the test's, with what it said. */
    static String run(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", command) + " failed:\n" + out);
        }
        return out;
    }

    /** One file of the package's data, read with dpkg-deb and tar. */
    static String file(Path deb, String path) throws IOException, InterruptedException {
        return run(List.of("sh", "-c", "dpkg-deb --fsys-tarfile \"$0\" | tar -xO \"$1\"", deb.toString(), "." + path));
    }
}
