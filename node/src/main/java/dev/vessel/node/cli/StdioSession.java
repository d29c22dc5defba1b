package dev.vessel.node.cli;

import dev.vessel.core.stdio.StdioFrame;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.RawTerminal;
import dev.vessel.linux.TerminalSize;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The CLI's end of an attached process's stdio (a task's or an exec's), frames over an upgraded
 * connection: its STDOUT and STDERR printed as they come, what is typed sent as STDIN (STDIN_CLOSE at the
 * end of the CLI's stdin), and with a remote terminal the local one's size sent first and again on every
 * SIGWINCH, the local terminal raw while attached and given back as it was on every way out (a shutdown
 * hook covers signals), and the detach keys (Ctrl-P Ctrl-Q unless {@code --detach-keys} said otherwise). Ends
 * with the process's EXIT, a detach, or the connection's end.
 */
final class StdioSession implements AutoCloseable {
    /** How often the window's size is polled where SIGWINCH cannot be handled (a JVM started with -Xrs). */
    private static final long SIZE_POLL_MS = 250;

    enum End { EXITED, DETACHED, CLOSED }

    /** How a session ended; {@code status} is the process's (exit code, or 128 + signal) when it EXITED. */
    record Result(End end, int status) {
    }

    /** What the session does; {@code detachKeys} (none: empty) detach only a session with a remote terminal. */
    record Options(boolean remoteTty, boolean forwardStdin, boolean localTerminal, byte[] detachKeys) {
        /** The local terminal is raw while keys go to a remote terminal, which echoes and interprets them. */
        boolean raw() {
            return remoteTty && forwardStdin && localTerminal;
        }
    }

    private final VesselClient.Upgraded connection;
    private final Options options;
    private final InputStream stdin;
    private final PrintStream stdout;
    private final PrintStream stderr;
    private final CountDownLatch over = new CountDownLatch(1);
    private final Object sending = new Object();
    private volatile Result result = new Result(End.CLOSED, 0);
    private volatile Optional<TerminalSize> lastSize = Optional.empty();
    private RawTerminal raw;
    private SignalHandler previousWinch;
    private Thread sizePoller;

    private StdioSession(VesselClient.Upgraded connection, Options options, InputStream stdin, PrintStream stdout,
            PrintStream stderr) {
        this.connection = connection;
        this.options = options;
        this.stdin = stdin;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /**
     * Starts relaying on {@code connection}: the terminal goes raw and its size is sent before this returns,
     * so a process started afterwards (run's create, attach, start) finds both.
     */
    static StdioSession begin(VesselClient.Upgraded connection, Options options, InputStream stdin, PrintStream stdout,
            PrintStream stderr) throws IOException {
        StdioSession session = new StdioSession(connection, options, stdin, stdout, stderr);
        try {
            session.start();
        } catch (IOException | RuntimeException e) {
            session.close();
            throw e;
        }
        return session;
    }

    private void start() throws IOException {
        if (options.raw()) {
            try {
                raw = RawTerminal.enter(RawTerminal.STDIN);
            } catch (ErrnoException e) {
                throw new IOException("cannot put the terminal in raw mode: " + e.getMessage(), e);
            }
        }
        if (options.remoteTty() && options.localTerminal()) {
            sendSize();
            watchSize();
        }
        Thread.ofPlatform().daemon().name("stdio-out").start(this::printOutput);
        if (options.forwardStdin()) {
            // a platform thread: a read of the CLI's stdin cannot be interrupted, and the JVM exits past it
            Thread.ofPlatform().daemon().name("stdio-in").start(this::forwardInput);
        }
    }

    /** Waits for the end of the session. */
    Result await() throws InterruptedException {
        over.await();
        return result;
    }

    private void finish(Result r) {
        if (over.getCount() > 0) {
            result = r;
            over.countDown();
        }
    }

    private void printOutput() {
        try {
            for (StdioFrame frame = StdioFrame.readFrom(connection.in); frame != null;
                    frame = StdioFrame.readFrom(connection.in)) {
                switch (frame.type()) {
                    case STDOUT -> {
                        stdout.write(frame.payload());
                        stdout.flush();
                    }
                    case STDERR -> {
                        stderr.write(frame.payload());
                        stderr.flush();
                    }
                    case EXIT -> {
                        finish(new Result(End.EXITED, frame.exitStatus()));
                        return;
                    }
                    default -> {
                        // nothing else comes from a process
                    }
                }
            }
        } catch (IOException e) {
            // the connection ended: CLOSED, unless a detach came first
        } finally {
            finish(new Result(End.CLOSED, 0));
        }
    }

    /**
     * Sends what is read from stdin until its end (then STDIN_CLOSE) or, with a remote terminal, the detach keys.
     * Keys that begin the detach sequence are held back until it is complete (a detach: they are never sent) or
     * broken (then they are sent, in order, before the key that broke it).
     */
    private void forwardInput() {
        byte[] keys = options.remoteTty() ? options.detachKeys() : new byte[0];
        byte[] buf = new byte[4096];
        int held = 0; // how many of the detach keys the last bytes matched
        try {
            for (int n; (n = stdin.read(buf)) > 0; ) {
                ByteArrayOutputStream out = new ByteArrayOutputStream(n + keys.length);
                for (int i = 0; i < n; i++) {
                    byte b = buf[i];
                    if (held < keys.length && b == keys[held]) {
                        if (++held == keys.length) {
                            send(StdioFrame.stdin(out.toByteArray()));
                            finish(new Result(End.DETACHED, 0));
                            return;
                        }
                        continue;
                    }
                    if (held == 0) {
                        out.write(b);
                        continue;
                    }
                    out.write(keys, 0, held);
                    held = 0;
                    if (b == keys[0]) { // (keys has 2 or more: something was held) the key that broke it begins anew
                        held = 1;
                    } else {
                        out.write(b);
                    }
                }
                if (out.size() > 0) {
                    send(StdioFrame.stdin(out.toByteArray()));
                }
            }
            if (held > 0) {
                send(StdioFrame.stdin(Arrays.copyOf(keys, held)));
            }
            send(StdioFrame.stdinClose());
        } catch (IOException e) {
            // the connection is gone: printOutput ends the session
        }
    }

    private void send(StdioFrame frame) throws IOException {
        synchronized (sending) {
            connection.out.write(frame.encode());
        }
    }

    /** Sends the local terminal's size when it changed since the last one sent. */
    private void sendSize() {
        Optional<TerminalSize> size = TerminalSize.of(RawTerminal.STDIN).or(() -> TerminalSize.of(1));
        if (size.isEmpty() || size.equals(lastSize)) {
            return;
        }
        lastSize = size;
        try {
            send(StdioFrame.resize(size.get().rows(), size.get().columns()));
        } catch (IOException e) {
            // the session is ending
        }
    }

    /** SIGWINCH where the JVM lets us handle it, else a poll of the size. */
    private void watchSize() {
        try {
            previousWinch = Signal.handle(new Signal("WINCH"), signal -> sendSize());
        } catch (IllegalArgumentException | IllegalStateException e) {
            sizePoller = Thread.ofPlatform().daemon().name("window-size").start(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        Thread.sleep(SIZE_POLL_MS);
                    } catch (InterruptedException stop) {
                        return;
                    }
                    sendSize();
                }
            });
        }
    }

    /** Restores the terminal, stops watching its size and drops the connection (detaching). */
    @Override
    public void close() {
        if (previousWinch != null) {
            Signal.handle(new Signal("WINCH"), previousWinch);
        }
        if (sizePoller != null) {
            sizePoller.interrupt();
        }
        if (raw != null) {
            raw.close();
        }
        try {
            connection.close();
        } catch (IOException e) {
            // already gone
        }
    }
}
