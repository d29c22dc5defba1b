package dev.vessel.vmtests;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/** Everything a stream delivered so far, gathered by a thread of its own as it comes: a console's screen. */
final class Collected {
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final Thread reader;

    Collected(InputStream in) {
        reader = Thread.ofPlatform().daemon().start(() -> {
            byte[] buf = new byte[4096];
            try {
                for (int n; (n = in.read(buf)) > 0; ) {
                    synchronized (bytes) {
                        bytes.write(buf, 0, n);
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        });
    }

    /** Once the stream has ended: all it delivered. */
    byte[] all() throws InterruptedException {
        reader.join(TimeUnit.SECONDS.toMillis(30));
        return bytes();
    }

    byte[] bytes() {
        synchronized (bytes) {
            return bytes.toByteArray();
        }
    }

    String text() {
        return new String(bytes(), StandardCharsets.UTF_8);
    }

    /**
     * Types {@code keys} into {@code console}, whose output this collects (again every few seconds when they are a
     * bare Enter: a prompt may come before anyone listened), until {@code expected} shows after what was there.
     */
    void typeUntil(Process console, String keys, String expected) throws Exception {
        int from = text().length();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        long nextTyping = 0;
        while (System.nanoTime() < deadline) {
            if (text().indexOf(expected, from) >= 0) {
                return;
            }
            if (!console.isAlive()) {
                break;
            }
            if (System.nanoTime() >= nextTyping && (nextTyping == 0 || keys.equals("\r"))) {
                console.getOutputStream().write(keys.getBytes(StandardCharsets.UTF_8));
                console.getOutputStream().flush();
                nextTyping = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the console never showed '" + expected + "' after typing " + keys.strip()
                + ":\n" + text());
    }
}
