package dev.vessel.linux;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * One run of a tool of this machine ({@code qemu-img} and {@code genisoimage} on the host, {@code ldconfig}, the
 * guest's {@code mount}): nothing on its stdin, a time limit, and its output read to the end (so it never blocks on
 * a full pipe) but kept only up to a bound. A failure says why in the tool's own first words.
 */
public final class ExternalTool {
    /** Enough for a tool that makes or reads an image, but not for copying a whole disk. */
    public static final Duration TIMEOUT = Duration.ofSeconds(120);
    private static final int MAX_OUTPUT_BYTES = 1 << 20;

    /** A run that failed: its message is the tool's own first line of complaint. */
    public static final class Failure extends IOException {
        Failure(String message) {
            super(message);
        }
    }

    private ExternalTool() {
    }

    /** The tool's output (stdout and stderr together) when it exits 0 within {@link #TIMEOUT}. */
    public static String run(List<String> argv) throws IOException {
        return run(argv, TIMEOUT);
    }

    /** The tool's output (stdout and stderr together) when it exits 0 within {@code timeout}. */
    public static String run(List<String> argv, Duration timeout) throws IOException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        p.getOutputStream().close();
        // read beside the wait, so that the time limit holds for a tool that keeps writing or hangs
        CompletableFuture<String> output = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try (InputStream in = p.getInputStream()) {
                String kept = new String(in.readNBytes(MAX_OUTPUT_BYTES), StandardCharsets.UTF_8);
                in.transferTo(OutputStream.nullOutputStream());
                output.complete(kept);
            } catch (IOException e) {
                output.completeExceptionally(new UncheckedIOException(e));
            }
        });
        String tool = argv.getFirst();
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new Failure(tool + " did not finish in " + timeout.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while " + tool + " ran", e);
        }
        String out;
        try {
            out = output.join();
        } catch (java.util.concurrent.CompletionException e) {
            throw new IOException("cannot read what " + tool + " printed: " + e.getCause().getMessage(), e.getCause());
        }
        if (p.exitValue() != 0) {
            String reason = out.lines().filter(l -> !l.isBlank()).findFirst().orElse("exit status " + p.exitValue());
            throw new Failure(reason.replaceFirst("^" + java.util.regex.Pattern.quote(tool) + ": ", ""));
        }
        return out;
    }
}
