package dev.vessel.guest;

import com.google.protobuf.InvalidProtocolBufferException;
import dev.vessel.core.agent.GuestFrame;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Where the warm-up task's events go instead of the host: a link whose connection keeps the frames sent to it, so
 * that the warm-up can tell when its task's exit was forwarded.
 */
final class FrameSink {
    private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
    private final HostLink link = new HostLink();

    FrameSink() {
        link.up(new FrameWriter(sent));
    }

    HostLink link() {
        return link;
    }

    /** Waits until a task's exit was sent here; fails after {@code millis}. */
    void awaitExit(long millis) throws InterruptedException, IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (!exitSent()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IOException("the warm-up task's exit was not forwarded within " + millis + " ms");
            }
            Thread.sleep(5);
        }
    }

    private boolean exitSent() throws IOException {
        return framesIn(sent.toByteArray()).stream().anyMatch(GuestFrame::hasExited);
    }

    /** The whole frames written into {@code bytes} (length-delimited, as {@link FrameWriter} writes them). */
    static List<GuestFrame> framesIn(byte[] bytes) throws IOException {
        List<GuestFrame> frames = new ArrayList<>();
        InputStream in = new ByteArrayInputStream(bytes);
        try {
            for (GuestFrame frame = GuestFrame.parseDelimitedFrom(in); frame != null;
                    frame = GuestFrame.parseDelimitedFrom(in)) {
                frames.add(frame);
            }
        } catch (InvalidProtocolBufferException e) {
            // the last frame is still being written
        }
        return frames;
    }
}
