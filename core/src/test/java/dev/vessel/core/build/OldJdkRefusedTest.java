package dev.vessel.core.build;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every way into the build stops at once on a JDK older than 25, saying which JDK is needed and where it looked:
 * Maven itself (the enforcer, before anything compiles) and the scripts that pick a JDK. Run with the machine's
 * JDK 17, the distribution's default.
 */
class OldJdkRefusedTest {
    static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @TempDir
    static Path jvmDir;
    static Path jdk17;

    record Result(int code, String output) {
    }

    @BeforeAll
    static void findJdk17() throws IOException {
        try (Stream<Path> jdks = Files.list(Path.of("/usr/lib/jvm"))) {
            jdk17 = jdks.filter(p -> p.getFileName().toString().startsWith("java-17-")
                    && Files.isExecutable(p.resolve("bin/javac"))).findFirst()
                    .orElseThrow(() -> new IllegalStateException("no JDK 17 under /usr/lib/jvm (apt-get install openjdk-17-jdk-headless)"));
        }
        // the only JDK the scripts find: an old one
        Files.createSymbolicLink(jvmDir.resolve(jdk17.getFileName()), jdk17);
    }

    @AfterAll
    static void removeLink() throws IOException {
        Files.deleteIfExists(jvmDir.resolve(jdk17.getFileName())); // the link, before JUnit warns of where it points
    }

    /** {@code command} in the checkout's root with JDK 17 as {@code JAVA_HOME} (or, {@code javaHome} false, first on PATH). */
    static Result run(boolean javaHome, String... command) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(command).directory(ROOT.toFile()).redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.remove("JAVA_HOME");
        env.remove("MAVEN_OPTS");
        if (javaHome) {
            env.put("JAVA_HOME", jdk17.toString());
        }
        env.put("PATH", jdk17.resolve("bin") + ":/usr/sbin:/usr/bin:/sbin:/bin");
        env.put("VESSEL_JVM_DIR", jvmDir.toString());
        Process p = builder.start();
        p.getOutputStream().close();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError(String.join(" ", command) + " did not stop");
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    @Test
    void mavenStopsInTheEnforcerNamingTheJdkItRunsOn() throws Exception {
        for (boolean javaHome : new boolean[] {true, false}) {
            Result r = run(javaHome, "mvn", "-o", "-B", "-N", "validate");
            assertTrue(r.code() != 0, r::output);
            String said = r.output().replaceAll("\\[ERROR\\] ", "").replace("\n", " ");
            assertTrue(said.contains("Vessel needs a JDK 25 or newer, and Maven runs on Java 17"), r::output);
            assertTrue(said.contains(" at " + jdk17.toRealPath()) || said.contains(" at " + jdk17), r::output);
            assertTrue(said.contains("set JAVA_HOME to a JDK 25"), r::output);
            assertFalse(r.output().contains("Unrecognized option"), r::output); // .mvn/jvm.config let the old JVM start
        }
    }

    @Test
    void everyScriptThatPicksAJdkSaysWhichItNeedsAndWhereItLooked() throws Exception {
        List<String[]> entryPoints = new ArrayList<>(List.of(
                new String[] {"bin/vessel", "--version"},
                new String[] {"bin/vesseld", "--help"},
                new String[] {"bin/vessel-runtime", "--version"},
                new String[] {"bench/run", "node-launch"},
                new String[] {"scripts/test"},
                new String[] {"scripts/demo"},
                new String[] {".ci/run"}));
        for (String[] command : entryPoints) {
            Result r = run(true, command);
            String what = String.join(" ", command) + ":\n" + r.output();
            assertEquals(1, r.code(), what);
            assertTrue(r.output().startsWith("error: Vessel needs a JDK 25 or newer (Temurin 25 is expected at "
                    + jvmDir.resolve("temurin-25-jdk-amd64") + ") and found none; set JAVA_HOME to one. Looked at:\n"), what);
            assertTrue(r.output().contains("\n  " + jdk17 + " (Java 17)\n"), what); // JAVA_HOME
            assertTrue(r.output().contains("\n  " + jvmDir.resolve(jdk17.getFileName()) + " (Java 17)"), what);
        }
    }
}
