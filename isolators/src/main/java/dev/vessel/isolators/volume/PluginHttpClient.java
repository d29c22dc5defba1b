package dev.vessel.isolators.volume;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * HTTP/1.1 POSTs over a Unix socket, the transport of Docker plugins: one connection per request
 * ({@code Connection: close}), as Docker's own plugin client does for these short calls.
 */
final class PluginHttpClient {
    /** One HTTP status and body. */
    record Response(int status, byte[] body) {
    }

    /** Plugin replies are small JSON documents; anything bigger is not a plugin talking. */
    private static final int MAX_RESPONSE_BYTES = 1 << 20;

    /** Daemon threads: the isolator has no close hook, and an idle loop must not keep a JVM alive. */
    private static final EventLoopGroup GROUP = new MultiThreadIoEventLoopGroup(1,
            new DefaultThreadFactory("docker-volume-plugin", true), EpollIoHandler.newFactory());

    private final Path socket;
    private final Duration timeout;

    PluginHttpClient(Path socket, Duration timeout) {
        this.socket = socket;
        this.timeout = timeout;
    }

    Response post(String path, byte[] json) throws IOException {
        CompletableFuture<Response> reply = new CompletableFuture<>();
        Bootstrap bootstrap = new Bootstrap().group(GROUP).channel(EpollDomainSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) timeout.toMillis())
                .handler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(MAX_RESPONSE_BYTES),
                                new ReplyHandler(reply));
                    }
                });
        ChannelFuture connect = bootstrap.connect(new DomainSocketAddress(socket.toFile()));
        connect.addListener(f -> {
            if (f.isSuccess()) {
                connect.channel().writeAndFlush(request(path, json)).addListener(w -> {
                    if (!w.isSuccess()) {
                        reply.completeExceptionally(w.cause());
                    }
                });
            } else {
                reply.completeExceptionally(f.cause());
            }
        });
        try {
            return reply.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            throw new IOException(String.valueOf(e.getCause().getMessage()), e.getCause());
        } catch (TimeoutException e) {
            throw new IOException("no reply within " + timeout.toSeconds() + " s", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the reply", e);
        } finally {
            connect.channel().close();
        }
    }

    private static FullHttpRequest request(String path, byte[] json) {
        FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, path,
                Unpooled.wrappedBuffer(json));
        request.headers()
                .set(HttpHeaderNames.HOST, "plugin")
                .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                .set(HttpHeaderNames.ACCEPT, "application/vnd.docker.plugins.v1.2+json")
                .set(HttpHeaderNames.CONTENT_LENGTH, json.length)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return request;
    }

    /** Completes the reply with the aggregated response, or with why there was none. */
    private static final class ReplyHandler extends SimpleChannelInboundHandler<FullHttpResponse> {
        private final CompletableFuture<Response> reply;

        ReplyHandler(CompletableFuture<Response> reply) {
            this.reply = reply;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
            byte[] body = new byte[response.content().readableBytes()];
            response.content().readBytes(body);
            reply.complete(new Response(response.status().code(), body));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            reply.completeExceptionally(cause);
            ctx.close();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            reply.completeExceptionally(new IOException("the plugin closed the connection without a reply"));
        }
    }
}
