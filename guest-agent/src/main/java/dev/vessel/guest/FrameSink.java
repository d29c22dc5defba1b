package dev.vessel.guest;

import dev.vessel.core.agent.GuestFrame;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Where the warm-up task's events go instead of the host: a link whose connection reads each frame sent to it once,
 * so that the warm-up can tell when its task's exit was forwarded.
 */
final class FrameSink {
    private final CountDownLatch exitSent = new CountDownLatch(1);
    private final HostLink link = new HostLink();

    FrameSink() {
        link.up(new FrameWriter(new FrameReader()));
    }

    HostLink link() {
        return link;
    }

    /** Waits until a task's exit was sent here; fails after {@code millis}. */
    void awaitExit(long millis) throws InterruptedException, IOException {
        if (!exitSent.await(millis, TimeUnit.MILLISECONDS)) {
            throw new IOException("the warm-up task's exit was not forwarded within " + millis + " ms");
        }
    }

    /** {@link FrameWriter} flushes after each whole frame: what a flush finds written is one frame. */
    private final class FrameReader extends ByteArrayOutputStream {
        @Override
        public synchronized void flush() throws IOException {
            GuestFrame frame = GuestFrame.parseDelimitedFrom(new ByteArrayInputStream(buf, 0, count));
            reset();
            if (frame != null && frame.hasExited()) {
                exitSent.countDown();
            }
        }
    }
}
