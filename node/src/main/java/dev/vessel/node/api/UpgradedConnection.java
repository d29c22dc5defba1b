package dev.vessel.node.api;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.io.InputStream;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A connection that has left HTTP for a raw byte stream both ways (HTTP/1.1's Upgrade, as Docker's
 * attach does: the client asks with {@code Connection: Upgrade} and {@code Upgrade: tcp} and is answered
 * 101), for an interactive session such as a VM's serial console. What the client sends is queued as
 * it arrives; past {@link #HIGH_WATER} chunks the connection stops reading until the session catches up.
 */
final class UpgradedConnection {
    private static final byte[] END = new byte[0];
    private static final int HIGH_WATER = 64;
    private static final int LOW_WATER = 16;

    private final Channel channel;
    private final BlockingQueue<byte[]> inbound = new LinkedBlockingQueue<>();
    private boolean ended;

    UpgradedConnection(Channel channel) {
        this.channel = channel;
    }

    /** The pipeline's last handler once HTTP is gone: hands what the client sends to {@link #read}. */
    ChannelInboundHandlerAdapter inboundHandler() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf buf = (ByteBuf) msg;
                try {
                    if (buf.isReadable()) {
                        inbound.add(ByteBufUtil.getBytes(buf));
                    }
                } finally {
                    buf.release();
                }
                if (inbound.size() >= HIGH_WATER) {
                    ctx.channel().config().setAutoRead(false);
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                inbound.add(END);
                ctx.fireChannelInactive();
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.close();
            }
        };
    }

    /**
     * The next bytes the client sent, waiting at most {@code timeoutMillis}: an empty array when none
     * came in time, null once the client has closed the connection.
     */
    byte[] read(long timeoutMillis) throws InterruptedException {
        if (ended) {
            return null;
        }
        byte[] next = inbound.poll(timeoutMillis, TimeUnit.MILLISECONDS);
        if (next == null) {
            return new byte[0];
        }
        if (next == END) {
            ended = true;
            return null;
        }
        if (inbound.size() <= LOW_WATER && !channel.config().isAutoRead()) {
            channel.config().setAutoRead(true);
        }
        return next;
    }

    /** What the client sends as a stream, for a reader that parses it (its frames); ends when the client closes. */
    InputStream inputStream() {
        return new InputStream() {
            private byte[] chunk = new byte[0];
            private int at;

            @Override
            public int read() {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] into, int offset, int length) {
                if (length == 0) {
                    return 0;
                }
                while (at == chunk.length) {
                    byte[] next;
                    try {
                        next = UpgradedConnection.this.read(1000);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return -1;
                    }
                    if (next == null) {
                        return -1;
                    }
                    chunk = next;
                    at = 0;
                }
                int n = Math.min(length, chunk.length - at);
                System.arraycopy(chunk, at, into, offset, n);
                at += n;
                return n;
            }
        };
    }

    /** Sends bytes and waits until they are written, so a slow client slows the producer; false once the client is gone. */
    boolean write(byte[] data, int offset, int length) {
        return channel.writeAndFlush(Unpooled.copiedBuffer(data, offset, length)).awaitUninterruptibly().isSuccess();
    }

    void close() {
        channel.close().awaitUninterruptibly();
    }
}
