package dev.vessel.provisioner.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the real tools that build test fixtures; a missing tool fails the test (CI installs them all). */
public final class Tools {
    private Tools() {
    }

    public static void require(String... binaries) {
        for (String binary : binaries) {
            if (!Files.isExecutable(Path.of("/usr/bin", binary))) {
                fail("/usr/bin/" + binary + " is missing: install the Debian package that provides it "
                        + "(docker-registry, skopeo, umoci, busybox-static); these tests need the real tool");
            }
        }
    }

    /** Runs a command, failing the test with its output when it exits non-zero. */
    public static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("timed out: " + String.join(" ", command));
        }
        String output = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), () -> String.join(" ", command) + " failed:\n" + output);
        return output;
    }

    public static String run(List<String> command) throws IOException, InterruptedException {
        return run(command.toArray(String[]::new));
    }
}
