package dev.vessel.node.runtime;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The process an engine watches as the container's. conmon and containerd's shim wait for the pid in the
 * pid file as their child (they are sub-reapers, and runc's container process is re-parented to them) and
 * read the container's output from the descriptors they gave the runtime. A Vessel task is the child of its
 * monitor under vesseld, so {@code create} leaves this process behind in its place: it holds those
 * descriptors, copies the task's stdout and stderr into them from vesseld, and exits as the task did (a
 * signal's death as 128 + the signal, as a shell reports it).
 */
final class Shim {
    private static final int LAUNCH_FAILED = 127;
    private static final int UNKNOWN = 255;

    private Shim() {
    }

    /** Starts {@code vessel-runtime shim ID} with this process's descriptors and JVM options; returns its pid. */
    static long spawn(Path root, String id) throws IOException {
        List<String> command = new ArrayList<>();
        ProcessHandle.Info self = ProcessHandle.current().info();
        command.add(self.command().orElseThrow());
        command.addAll(jvmOptions(self.arguments().orElse(new String[0])));
        command.addAll(List.of("-Xmx32m", "-cp", System.getProperty("java.class.path"), VesselRuntime.class.getName(),
                "--root", root.toString(), "shim", id));
        return new ProcessBuilder(command).inheritIO().start().pid();
    }

    /** The options this JVM was started with (its start-up cache among them), without its class path. */
    private static List<String> jvmOptions(String[] arguments) {
        List<String> options = new ArrayList<>();
        for (int i = 0; i < arguments.length; i++) {
            String a = arguments[i];
            if (a.equals(VesselRuntime.class.getName())) {
                break;
            }
            if (a.equals("-cp") || a.equals("-classpath") || a.equals("--class-path")) {
                i++;
            } else if (!a.startsWith("-Xmx")) {
                options.add(a);
            }
        }
        return options;
    }

    /** Copies the task's output until it ends, then returns the exit code its engine should see. */
    static int relay(DaemonLink daemon, String id) throws InterruptedException {
        Thread stdout = copy(daemon, id, "stdout", new FileOutputStream(FileDescriptor.out));
        Thread stderr = copy(daemon, id, "stderr", new FileOutputStream(FileDescriptor.err));
        String termination = daemon.call("POST", "/v1/containers/" + id + "/wait", null);
        stdout.join();
        stderr.join();
        return exitCode(termination);
    }

    static int exitCode(String termination) {
        long code = JsonFields.number(termination, "exit_code");
        if (code >= 0) {
            return (int) code;
        }
        long signal = JsonFields.number(termination, "signal");
        if (signal > 0) {
            return 128 + (int) signal;
        }
        return JsonFields.string(termination, "reason").equals("LAUNCH_FAILED") ? LAUNCH_FAILED : UNKNOWN;
    }

    private static Thread copy(DaemonLink daemon, String id, String stream, OutputStream to) {
        return Thread.ofPlatform().start(() -> {
            try (InputStream from = daemon.stream("/v1/containers/" + id + "/logs?stream=" + stream + "&follow=1")) {
                byte[] buffer = new byte[8192];
                for (int n = from.read(buffer); n >= 0; n = from.read(buffer)) {
                    to.write(buffer, 0, n);
                    to.flush();
                }
            } catch (IOException | RuntimeFailure e) {
                // the engine lost the reader, or the daemon went away: the exit still matters
            }
        });
    }
}
