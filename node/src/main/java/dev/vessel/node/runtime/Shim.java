package dev.vessel.node.runtime;

import dev.vessel.core.stdio.StdioFrame;
import dev.vessel.node.cli.VesselClient;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

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

    /**
     * Starts {@code vessel-runtime shim ID} (or, for an exec, {@code exec-shim ID EXEC}) with this process's
     * descriptors and JVM options; returns its pid.
     */
    static long spawn(Path root, String... shimCommand) throws IOException {
        List<String> command = new ArrayList<>();
        ProcessHandle.Info self = ProcessHandle.current().info();
        command.add(self.command().orElseThrow());
        command.addAll(jvmOptions(self.arguments().orElse(new String[0])));
        command.addAll(List.of("-Xmx32m", "-cp", System.getProperty("java.class.path"), VesselRuntime.class.getName(),
                "--root", root.toString()));
        command.addAll(List.of(shimCommand));
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

    /**
     * Starts the exec and relays its output until its EXIT, whose status it returns. The engine's reader
     * may go away meanwhile: the output is then dropped, the status still comes back.
     */
    static int relayExec(DaemonLink daemon, String id, String execId) {
        String exec = "/v1/containers/" + id + "/exec/" + execId;
        OutputStream out = new FileOutputStream(FileDescriptor.out);
        OutputStream err = new FileOutputStream(FileDescriptor.err);
        try (VesselClient.Upgraded session = daemon.upgrade(exec + "/start")) {
            for (StdioFrame f = StdioFrame.readFrom(session.in); f != null; f = StdioFrame.readFrom(session.in)) {
                switch (f.type()) {
                    case STDOUT -> write(out, f.payload());
                    case STDERR -> write(err, f.payload());
                    case EXIT -> {
                        return f.exitStatus();
                    }
                    default -> {
                    }
                }
            }
        } catch (IOException e) {
            // the daemon went away: its record of the exec may still say how it ended
        }
        return recordedExit(daemon, exec);
    }

    /** The status the exec's record holds once it ended (a few seconds are given for it to be recorded). */
    private static int recordedExit(DaemonLink daemon, String exec) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            String status = daemon.call("GET", exec, null);
            if (JsonFields.string(status, "state").equals("EXEC_EXITED")) {
                return (int) JsonFields.number(status, "exit_code");
            }
            if (System.nanoTime() > deadline) {
                return UNKNOWN;
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return UNKNOWN;
            }
        }
    }

    private static void write(OutputStream to, byte[] data) {
        try {
            to.write(data);
            to.flush();
        } catch (IOException e) {
            // the engine stopped reading; the exit still matters
        }
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
