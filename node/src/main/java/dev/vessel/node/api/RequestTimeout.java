package dev.vessel.node.api;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a connection that does not deliver a whole request within the timeout of opening or of its
 * previous response: a client that sends half a request, trickles it, or idles between requests cannot
 * hold a connection forever. While a request is being served (a wait, a followed log) nothing is timed:
 * the client is waiting on us. Sits after the aggregator, so it sees whole requests only.
 */
final class RequestTimeout extends ChannelDuplexHandler {
    private final long timeoutNanos;
    private ScheduledFuture<?> deadline;

    RequestTimeout(Duration timeout) {
        this.timeoutNanos = timeout.toNanos();
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        arm(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        disarm();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof FullHttpRequest) {
            disarm();
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof LastHttpContent) {
            // the response is complete: from here the client has the timeout to send its next request
            ctx.write(msg, promise.unvoid()).addListener((ChannelFutureListener) f -> arm(ctx));
        } else {
            ctx.write(msg, promise);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        disarm();
        ctx.fireChannelInactive();
    }

    private void arm(ChannelHandlerContext ctx) {
        disarm();
        if (ctx.channel().isOpen()) {
            deadline = ctx.executor().schedule(() -> {
                ctx.close();
            }, timeoutNanos, TimeUnit.NANOSECONDS);
        }
    }

    private void disarm() {
        if (deadline != null) {
            deadline.cancel(false);
            deadline = null;
        }
    }
}
