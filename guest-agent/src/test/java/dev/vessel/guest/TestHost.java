package dev.vessel.guest;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.HelloAck;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.Stream;
import dev.vessel.core.agent.TaskExited;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The tests' host: the transport that hands the agent its connections, and the host's end of the
 * current one, which writes host frames and reads guest frames (events read while waiting for a
 * reply are kept for later).
 */
final class TestHost implements Transport {
    private static final long PATIENCE_SECONDS = 60;

    private final BlockingQueue<Connection> offered = new LinkedBlockingQueue<>();
    private final AtomicLong requestIds = new AtomicLong();
    private volatile boolean closed;
    private Connection host;
    private BlockingQueue<GuestFrame> received;
    private final List<GuestFrame> kept = new ArrayList<>();

    /** The agent waits here until the test connects; a closed host ends the agent's serve loop. */
    @Override
    public Connection connect() throws IOException {
        try {
            while (!closed) {
                Connection next = offered.poll(50, TimeUnit.MILLISECONDS);
                if (next != null) {
                    return next;
                }
            }
            throw new EOFException("the test host is closed");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** A new connection for the agent; frames of the previous one are forgotten. */
    void connectAgent() {
        MemoryPipe.Link link = MemoryPipe.link();
        host = link.host();
        kept.clear();
        BlockingQueue<GuestFrame> frames = new LinkedBlockingQueue<>();
        received = frames;
        Connection mine = host;
        Thread.ofVirtual().start(() -> {
            try {
                for (GuestFrame f; (f = GuestFrame.parseDelimitedFrom(mine.in())) != null; ) {
                    frames.add(f);
                }
            } catch (IOException e) {
                // the connection was closed
            }
        });
        offered.add(link.guest());
    }

    /** Connects, reads the hello, acknowledges it; returns the hello frame. */
    GuestFrame connectAndShakeHands() throws Exception {
        connectAgent();
        GuestFrame hello = next();
        send(HostFrame.newBuilder().setHelloAck(HelloAck.getDefaultInstance()));
        return hello;
    }

    /** Breaks the current connection, as a host daemon that was killed does. */
    void disconnect() throws IOException {
        host.close();
    }

    void close() throws IOException {
        closed = true;
        if (host != null) {
            host.close();
        }
    }

    void send(HostFrame.Builder frame) throws IOException {
        frame.build().writeDelimitedTo(host.out());
        host.out().flush();
    }

    /** Writes {@code bytes} as they are: a host that does not speak the protocol. */
    void sendRaw(byte[] bytes) throws IOException {
        host.out().write(bytes);
        host.out().flush();
    }

    /** Sends a request with a fresh id and returns its reply. */
    GuestFrame request(HostFrame.Builder frame) throws Exception {
        return awaitReply(sendRequest(frame));
    }

    /** Sends a request with a fresh id, without waiting for the reply; returns the id. */
    long sendRequest(HostFrame.Builder frame) throws Exception {
        long id = requestIds.incrementAndGet();
        send(frame.setRequestId(id));
        return id;
    }

    /** The reply to request {@code id}; other frames read meanwhile are kept. */
    GuestFrame awaitReply(long id) throws Exception {
        for (int i = 0; i < kept.size(); i++) {
            if (kept.get(i).getRequestId() == id) {
                return kept.remove(i);
            }
        }
        while (true) {
            GuestFrame f = received();
            if (f.getRequestId() == id) {
                return f;
            }
            kept.add(f);
        }
    }

    /** The next frame, kept events first. */
    GuestFrame next() throws Exception {
        return kept.isEmpty() ? received() : kept.removeFirst();
    }

    /** Collects events until the task's exit; returns the exit and appends its output. */
    TaskExited awaitExit(String containerId, StringBuilder stdout, StringBuilder stderr) throws Exception {
        while (true) {
            GuestFrame f = next();
            if (f.hasOutput() && f.getOutput().getContainerId().equals(containerId)) {
                String data = f.getOutput().getData().toString(StandardCharsets.UTF_8);
                (f.getOutput().getStream() == Stream.STDOUT ? stdout : stderr).append(data);
            } else if (f.hasExited() && f.getExited().getContainerId().equals(containerId)) {
                return f.getExited();
            }
        }
    }

    /** Waits until the task's stdout, as received, contains {@code text}; returns all of it. */
    String awaitOutput(String containerId, String text) throws Exception {
        StringBuilder out = new StringBuilder();
        List<GuestFrame> others = new ArrayList<>();
        while (!out.toString().contains(text)) {
            GuestFrame f = next();
            if (f.hasOutput() && f.getOutput().getContainerId().equals(containerId)
                    && f.getOutput().getStream() == Stream.STDOUT) {
                out.append(f.getOutput().getData().toString(StandardCharsets.UTF_8));
            } else {
                others.add(f);
            }
        }
        kept.addAll(0, others);
        return out.toString();
    }

    private GuestFrame received() throws InterruptedException {
        GuestFrame f = received.poll(PATIENCE_SECONDS, TimeUnit.SECONDS);
        if (f == null) {
            fail("the agent sent nothing for " + PATIENCE_SECONDS + " s");
        }
        assertNotNull(f);
        return f;
    }
}
