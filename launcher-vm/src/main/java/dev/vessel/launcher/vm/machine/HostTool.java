package dev.vessel.launcher.vm.machine;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One run of a host tool that makes or reads disk images ({@code qemu-img}, {@code genisoimage}):
 * nothing on its stdin, a time limit, and its output read to the end (so it never blocks on a full
 * pipe) but kept only up to a bound.
 */
final class HostTool {
    private static final long TIMEOUT_SECONDS = 120;
    private static final int MAX_OUTPUT_BYTES = 1 << 20;

    /** A run that failed: its message is the tool's own first line of complaint. */
    static final class Failure extends IOException {
        Failure(String message) {
            super(message);
        }
    }

    private HostTool() {
    }

    /** The tool's output (stdout and stderr together) when it exits 0. */
    static String run(List<String> argv) throws IOException {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readNBytes(MAX_OUTPUT_BYTES), StandardCharsets.UTF_8);
            in.transferTo(OutputStream.nullOutputStream());
        }
        String tool = argv.getFirst();
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new Failure(tool + " did not finish in " + TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while " + tool + " ran", e);
        }
        if (p.exitValue() != 0) {
            String reason = out.lines().filter(l -> !l.isBlank()).findFirst().orElse("exit status " + p.exitValue());
            throw new Failure(reason.replaceFirst("^" + java.util.regex.Pattern.quote(tool) + ": ", ""));
        }
        return out;
    }
}
