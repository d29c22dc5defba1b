package dev.vessel.node.api;

import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.TtyDevice;

/**
 * Moves bytes between a terminal device and a client's upgraded connection, both ways, until the
 * client leaves or the device hangs up (the VM stopped). Each side is read with a short timeout, so
 * either end noticing the other gone is enough to stop both.
 */
final class ConsoleRelay {
    private static final int POLL_MS = 200;
    private static final int BUFFER = 16 * 1024;

    private ConsoleRelay() {
    }

    static void run(TtyDevice tty, UpgradedConnection client) throws InterruptedException {
        Thread toClient = Thread.ofPlatform().daemon().name("console-out").unstarted(() -> {
            // a platform thread: the device is read with a native poll, which would pin a virtual thread's carrier
            byte[] buf = new byte[BUFFER];
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    int n = tty.read(buf, POLL_MS);
                    if (n < 0 || n > 0 && !client.write(buf, 0, n)) {
                        break;
                    }
                }
            } catch (ErrnoException e) {
                // the device went away: the session is over
            } finally {
                client.close();
            }
        });
        toClient.start();
        try {
            while (toClient.isAlive()) {
                byte[] typed = client.read(POLL_MS);
                if (typed == null) {
                    break;
                }
                if (typed.length > 0) {
                    tty.write(typed, 0, typed.length);
                }
            }
        } catch (ErrnoException e) {
            // the device went away
        } finally {
            toClient.interrupt();
            toClient.join();
            client.close();
        }
    }
}
