package dev.vessel.node.cli;

import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.RawTerminal;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.concurrent.CountDownLatch;

/**
 * The CLI's end of an interactive console: the local terminal in raw mode (when stdin is one), what
 * the remote side prints to stdout as it comes, every key typed sent on, until the escape key (Ctrl-],
 * as {@code virsh console} and telnet) detaches or the remote side closes. The terminal is given back
 * as it was on every way out.
 */
final class ConsoleAttach {
    /** Ctrl-]. */
    static final int ESCAPE = 0x1d;

    enum End { DETACHED, CLOSED }

    private ConsoleAttach() {
    }

    static End run(VesselClient.Upgraded session, InputStream stdin, PrintStream stdout, boolean rawTerminal)
            throws IOException, InterruptedException {
        try (RawTerminal raw = rawTerminal ? enterRaw() : null) {
            CountDownLatch over = new CountDownLatch(1);
            End[] end = {End.CLOSED};
            Thread.ofPlatform().daemon().name("console-in").start(() -> {
                try {
                    forwardTyped(stdin, session);
                    end[0] = End.DETACHED;
                } catch (IOException e) {
                    // the session closed under us: the other side reports it
                } finally {
                    over.countDown();
                }
            });
            Thread.ofPlatform().daemon().name("console-out").start(() -> {
                byte[] buf = new byte[16 * 1024];
                try {
                    for (int n; (n = session.in.read(buf)) > 0; ) {
                        stdout.write(buf, 0, n);
                        stdout.flush();
                    }
                } catch (IOException e) {
                    // closed: the session is over
                } finally {
                    over.countDown();
                }
            });
            over.await();
            return end[0];
        }
    }

    /** Sends what is typed until the escape key or the end of stdin (a script's input), either of which detaches. */
    private static void forwardTyped(InputStream stdin, VesselClient.Upgraded session) throws IOException {
        byte[] buf = new byte[4096];
        for (int n; (n = stdin.read(buf)) > 0; ) {
            for (int i = 0; i < n; i++) {
                if (buf[i] == ESCAPE) {
                    session.out.write(buf, 0, i);
                    return;
                }
            }
            session.out.write(buf, 0, n);
        }
    }

    private static RawTerminal enterRaw() throws IOException {
        try {
            return RawTerminal.enter(RawTerminal.STDIN);
        } catch (ErrnoException e) {
            throw new IOException("cannot put the terminal in raw mode: " + e.getMessage(), e);
        }
    }
}
