package dev.vessel.images;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;

/** What the module's build placed in target/guest, as listed by its artifacts.properties. */
record GuestArtifacts(Path kernel, Path initrd, Path software, String cmdline, Properties all) {
    static final Path DIR = Path.of("target", "guest");

    /** Fails with a clear message when the build did not produce the artifacts. */
    static GuestArtifacts load() throws IOException {
        Path file = DIR.resolve("artifacts.properties");
        if (!Files.isRegularFile(file)) {
            fail(file.toAbsolutePath() + " is missing: run the tests through Maven, whose generate-resources "
                    + "phase builds the guest kernel, initramfs and software image");
        }
        Properties properties = new Properties();
        try (Reader in = Files.newBufferedReader(file)) {
            properties.load(in);
        }
        GuestArtifacts artifacts = new GuestArtifacts(Path.of(require(properties, "kernel")),
                Path.of(require(properties, "initrd")), Path.of(require(properties, "software")),
                require(properties, "cmdline"), properties);
        assertTrue(Files.isRegularFile(artifacts.kernel()), "no kernel at " + artifacts.kernel());
        assertTrue(Files.isRegularFile(artifacts.initrd()), "no initramfs at " + artifacts.initrd());
        assertTrue(Files.isRegularFile(artifacts.software()), "no software image at " + artifacts.software());
        return artifacts;
    }

    private static String require(Properties properties, String key) {
        String value = properties.getProperty(key);
        if (value == null || value.isBlank()) {
            fail("artifacts.properties has no " + key);
        }
        return value;
    }
}
