package dev.vessel.node.runtime;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The process an engine watches as the container's. conmon and containerd's shim wait for the pid in the
 * pid file as their child (they are sub-reapers, and runc's container process is re-parented to them) and
 * read the container's output from the descriptors they gave the runtime. A Vessel task is the child of its
 * monitor under vesseld, so the runtime leaves a shim in its place: the native {@code vessel-runtime}'s
 * {@code shim} (attached to the container before its start) or {@code exec-shim} (an exec's start), which
 * relays the task's stdio between vesseld and those descriptors and exits as the task did.
 *
 * <p>Detached ({@code --detach}), the native program forks the shim into a session of its own, waits until it
 * is attached, writes the pid file and exits: the shim is then the engine's sub-reaper's child, never this
 * JVM's, whose process reaper would otherwise take its exit status from the engine.
 */
final class Shim {
    /** Where the native program is when not next to the runtime's classes (a test's or a packager's choice). */
    static final String NATIVE_PROPERTY = "vessel.runtime.native";

    private Shim() {
    }

    /** Leaves a detached shim ({@code shim ID} or {@code exec-shim ID EXEC}) attached; 0, or 1 when it failed (reported). */
    static int detached(List<String> global, String pidFile, String... command) throws IOException, InterruptedException {
        List<String> words = new ArrayList<>(List.of(command[0], "--detach"));
        if (pidFile != null) {
            words.addAll(List.of("--pid-file", pidFile));
        }
        words.addAll(List.of(command).subList(1, command.length));
        return run(global, words);
    }

    /** Relays in a child process with this one's descriptors; the task's exit status. */
    static int foreground(List<String> global, String... command) throws IOException, InterruptedException {
        return run(global, List.of(command));
    }

    private static int run(List<String> global, List<String> words) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(nativeProgram().toString()));
        command.addAll(global);
        command.addAll(words);
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }

    /** {@code vessel-runtime} beside the runtime's classes (node/target/classes or node/target/vessel-cli.jar). */
    static Path nativeProgram() {
        String configured = System.getProperty(NATIVE_PROPERTY);
        Path program;
        if (configured != null) {
            program = Path.of(configured);
        } else {
            try {
                program = Path.of(Shim.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                        .resolveSibling("vessel-runtime");
            } catch (URISyntaxException | NullPointerException e) {
                throw new RuntimeFailure("cannot tell where the native vessel-runtime is: set -D" + NATIVE_PROPERTY);
            }
        }
        if (!Files.isExecutable(program)) {
            throw new RuntimeFailure("the native vessel-runtime (the shims) is not built: " + program
                    + " (mvn -o -pl node -am install -DskipTests)");
        }
        return program;
    }
}
