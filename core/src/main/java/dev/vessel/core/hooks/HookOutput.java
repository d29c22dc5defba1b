package dev.vessel.core.hooks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** The last bytes a hook wrote (stdout and stderr), which its failure quotes. */
public final class HookOutput {
    /** How much of a failed hook's output its error quotes. */
    private static final int QUOTED = 1024;

    private final byte[] tail = new byte[QUOTED];
    private int length;
    private Thread reader;

    /** Reads {@code p}'s output on a thread of its own, so that a hook writing much never blocks. */
    public static HookOutput of(Process p) {
        var output = new HookOutput();
        output.reader = Thread.ofVirtual().start(() -> {
            byte[] buf = new byte[8192];
            try (var out = p.getInputStream()) {
                for (int n; (n = out.read(buf)) >= 0; ) {
                    output.keep(buf, n);
                }
            } catch (IOException e) {
                // the hook was killed
            }
        });
        return output;
    }

    /** Keeps the last of {@code n} bytes of {@code buf} after what was kept. */
    public synchronized void keep(byte[] buf, int n) {
        int from = Math.max(0, n - tail.length);
        int take = n - from;
        int shift = Math.min(length, tail.length - take);
        System.arraycopy(tail, length - shift, tail, 0, shift);
        System.arraycopy(buf, from, tail, shift, take);
        length = shift + take;
    }

    /** {@code : OUTPUT} once the output closed (a child the hook left holding it is not waited for long). */
    public String quoted() throws InterruptedException {
        if (reader != null) {
            reader.join(Duration.ofSeconds(1));
        }
        String text;
        synchronized (this) {
            text = new String(tail, 0, length, StandardCharsets.UTF_8).strip();
        }
        return text.isEmpty() ? "" : ": " + text;
    }
}
