package dev.vessel.node.cli;

import dev.vessel.node.runtime.JsonFields;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The commands the CLI answers before picocli and Jackson are loaded: {@code --version}, and {@code run [--rm]
 * IMAGE [CMD…]} in the foreground, the command a script runs most. Building picocli's model of even one
 * command, and Jackson's first use, cost several times a JVM's own start (see the README's performance
 * notes); these two need neither: the request is a few hand-written JSON members, and the answers are read
 * for a field or two. Anything else, any other option, or any answer this path does not expect before the
 * container exists, goes to the full CLI ({@link #execute} answers {@code null}), which does exactly what it
 * always did.
 *
 * <p>It is also the CLI's entry point ({@link #main}, which bin/vessel runs): {@link Vessel}'s own class,
 * once loaded, reads every subcommand's annotations, and {@code System.console()} looks up a console
 * provider; neither is needed here.
 */
public final class LeanCli {
    private static final int SIGTERM = 15;

    private final PrintStream out;
    private final PrintStream err;
    private final Map<String, String> env;

    LeanCli(PrintStream out, PrintStream err, Map<String, String> env) {
        this.out = out;
        this.err = err;
        this.env = env;
    }

    public static void main(String[] args) {
        Integer code;
        try {
            code = new LeanCli(System.out, System.err, System.getenv()).execute(args);
        } catch (CliFailure e) {
            System.err.println("vessel: " + e.getMessage());
            code = CliFailure.EXIT_CODE;
        }
        if (code == null) {
            Vessel.main(args);
        } else if (code != 0) {
            // nothing here registers a shutdown hook, and System.exit's first call sets up the JDK's logging
            // (it logs each exit), which costs a short command a fifth of its time
            System.out.flush();
            System.err.flush();
            Runtime.getRuntime().halt(code);
        }
    }

    /** The exit code, or {@code null} when the full CLI is to run the command instead. */
    Integer execute(String... args) {
        String host = null;
        int at = 0;
        if (args.length >= 2 && args[0].equals("--host")) {
            host = args[1];
            at = 2;
        }
        if (at == args.length - 1 && (args[at].equals("--version") || args[at].equals("-V"))) {
            out.println(Vessel.VERSION);
            return 0;
        }
        if (at < args.length && args[at].equals("run")) {
            if (host == null) {
                host = env.getOrDefault("VESSEL_HOST", VesselClient.DEFAULT_HOST);
            }
            return host.startsWith("unix://") ? run(host, List.of(args).subList(at + 1, args.length)) : null;
        }
        return null;
    }

    /** {@code [--rm] IMAGE [CMD…]}: as docker's, what follows the image is the command, options included. */
    private Integer run(String host, List<String> words) {
        boolean remove = false;
        int at = 0;
        for (; at < words.size() && words.get(at).startsWith("-"); at++) {
            if (!words.get(at).equals("--rm")) {
                return null;
            }
            remove = true;
        }
        if (at == words.size()) {
            return null; // no image: the full CLI says what is missing
        }
        StringBuilder body = new StringBuilder("{\"image\":").append(JsonFields.quote(words.get(at))).append(",\"args\":[");
        for (int i = at + 1; i < words.size(); i++) {
            body.append(i > at + 1 ? "," : "").append(JsonFields.quote(words.get(i)));
        }
        body.append("]}");

        VesselClient client = VesselClient.connect(host, null);
        String id;
        try (VesselClient.Response r = client.send("POST", "/v1/containers", body.toString())) {
            if (r.status >= 300) {
                // nothing was made: the image must be pulled first, or the refusal is the full CLI's to word
                return null;
            }
            id = JsonFields.string(r.text(), "id");
        } catch (IOException e) {
            throw new CliFailure("reading the answer of vesseld: " + e.getMessage());
        }
        if (id.isEmpty()) {
            throw new CliFailure("vesseld's answer to a create names no container");
        }
        return foreground(client, id, remove);
    }

    /** As {@code RunCommand}'s: both streams followed, the end waited for, the container removed with --rm. */
    private int foreground(VesselClient client, String id, boolean remove) {
        String path = "/v1/containers/" + Paths.segment(id);
        Thread stdout = follow(client, path, "stdout", out);
        Thread stderr = follow(client, path, "stderr", err);
        SignalHandler previous = Signal.handle(new Signal("INT"), signal -> kill(client, path));
        String termination;
        try {
            termination = answer(client, "POST", path + "/wait", "");
            stdout.join();
            stderr.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliFailure("interrupted while waiting for container " + id);
        } finally {
            Signal.handle(new Signal("INT"), previous);
        }
        if (remove) {
            answer(client, "DELETE", path, null);
        }
        OptionalLong exitCode = JsonFields.integer(termination, "exit_code");
        if (exitCode.isPresent()) {
            return (int) exitCode.getAsLong();
        }
        OptionalLong signal = JsonFields.integer(termination, "signal");
        if (signal.isPresent()) {
            return 128 + (int) signal.getAsLong();
        }
        String reason = JsonFields.string(termination, "reason");
        String message = JsonFields.string(termination, "message");
        throw new CliFailure("container " + id + " " + (reason.isEmpty() ? "ended" : reason) + ": "
                + (message.isEmpty() ? "no exit status" : message));
    }

    /** Ctrl-C where the terminal is not raw: SIGTERM to the task. */
    private void kill(VesselClient client, String path) {
        try {
            answer(client, "POST", path + "/kill?signal=" + SIGTERM, "");
        } catch (CliFailure e) {
            err.println("vessel: " + e.getMessage());
        }
    }

    /** A whole answer; an error status is a {@link CliFailure} with the daemon's message. */
    private static String answer(VesselClient client, String method, String path, String body) {
        try (VesselClient.Response r = client.send(method, path, body)) {
            String text = r.text();
            if (r.status >= 400) {
                String message = JsonFields.string(text, "message");
                String field = JsonFields.string(text, "field");
                throw new CliFailure(message.isEmpty() ? "HTTP " + r.status + ": " + text.strip()
                        : (field.isEmpty() ? "" : field + ": ") + message);
            }
            return text;
        } catch (IOException e) {
            throw new CliFailure("reading the answer of vesseld: " + e.getMessage());
        }
    }

    /** One of the task's streams, copied as it is written until the container has ended (see RunCommand's). */
    private Thread follow(VesselClient client, String path, String stream, PrintStream to) {
        return Thread.ofPlatform().daemon().name("follow-" + stream).start(() -> {
            try (VesselClient.Response r = client.send("GET", path + "/logs?stream=" + stream + "&follow=1", null)) {
                if (r.status >= 400) {
                    throw new CliFailure("HTTP " + r.status + ": " + r.text().strip());
                }
                InputStream in = r.body;
                byte[] buffer = new byte[8192];
                for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
                    to.write(buffer, 0, n);
                    to.flush();
                }
            } catch (IOException | CliFailure e) {
                err.println("vessel: following the " + stream + " of " + id(path) + ": " + e.getMessage());
            }
        });
    }

    private static String id(String path) {
        return path.substring(path.lastIndexOf('/') + 1);
    }
}
