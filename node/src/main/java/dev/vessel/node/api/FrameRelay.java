package dev.vessel.node.api;

import dev.vessel.core.stdio.StdioChannel;
import dev.vessel.core.stdio.StdioFrame;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;

/**
 * Relays a process's stdio between its {@link StdioChannel} and a client's upgraded connection, as
 * {@link StdioFrame}s both ways, until the process's EXIT has reached the client or either side leaves.
 * The client may send only what goes towards a process (STDIN, STDIN_CLOSE, RESIZE); anything else, or a
 * frame that does not parse, ends its session. Each direction waits for its receiver (a client that does
 * not read holds the process's output back, a process that does not read its stdin holds the client's),
 * and neither ever runs on Netty's event loop.
 */
final class FrameRelay {
    private static final System.Logger LOG = System.getLogger(FrameRelay.class.getName());

    private FrameRelay() {
    }

    /** Runs the session on the calling (virtual) thread and one platform thread; returns once it is over. */
    static void run(StdioChannel process, UpgradedConnection client) throws InterruptedException {
        // a platform thread: how a channel blocks in read (a socket, a native poll) is its launcher's business
        Thread toClient = Thread.ofPlatform().daemon().name("stdio-out").unstarted(() -> {
            try {
                for (StdioFrame frame = process.read(); frame != null; frame = process.read()) {
                    if (!client.write(frame.encode(), 0, frame.payload().length + 5)
                            || frame.type() == StdioFrame.Type.EXIT) {
                        break;
                    }
                }
            } catch (IOException e) {
                // the process's side closed (detached below, or its monitor went away): the session is over
            } finally {
                client.close();
            }
        });
        toClient.start();
        try {
            InputStream in = client.inputStream();
            for (StdioFrame frame = StdioFrame.readFrom(in); frame != null; frame = StdioFrame.readFrom(in)) {
                switch (frame.type()) {
                    case STDIN, STDIN_CLOSE, RESIZE -> process.write(frame);
                    default -> throw new IOException("a client may not send " + frame.type() + " frames");
                }
            }
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "stdio session ended: {0}", e.getMessage());
        } finally {
            try {
                process.close(); // detaches; the process runs on
            } catch (IOException e) {
                LOG.log(Level.DEBUG, "detaching: {0}", e.getMessage());
            }
            toClient.join();
            client.close();
        }
    }
}
