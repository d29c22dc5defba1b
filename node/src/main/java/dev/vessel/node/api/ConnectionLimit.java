package dev.vessel.node.api;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A cap on the API's open connections, over all its listeners: each holds buffers and, once its request
 * is served, a thread, so a client opening connections without end must not exhaust the daemon. A
 * connection past the cap is answered 503 and closed at once, before anything of it is read.
 */
final class ConnectionLimit {
    private final int max;
    private final AtomicInteger open = new AtomicInteger();

    ConnectionLimit(int max) {
        this.max = max;
    }

    /** Counts {@code channel} until it closes; false (and the channel refused) when the cap is reached. */
    boolean admit(Channel channel) {
        if (open.incrementAndGet() > max) {
            open.decrementAndGet();
            refuse(channel);
            return false;
        }
        channel.closeFuture().addListener(f -> open.decrementAndGet());
        return true;
    }

    private void refuse(Channel channel) {
        byte[] body = ApiErrors.body("UNAVAILABLE", null, "the daemon has " + max
                + " API connections open, its limit; close some and retry").getBytes(StandardCharsets.UTF_8);
        // no HTTP codec is in the pipeline yet: the answer is written as it goes on the wire
        byte[] head = ("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        channel.writeAndFlush(Unpooled.wrappedBuffer(head, body)).addListener(ChannelFutureListener.CLOSE);
    }
}
