package dev.vessel.node.api;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * One request and the way back to its client: a whole JSON response, or a chunked stream. Handlers
 * call it from their virtual threads; Netty queues each write on the channel's event loop.
 */
final class Exchange {
    private static final String JSON = "application/json";
    static final String UPGRADE_PROTOCOL = "tcp";

    private final Channel channel;
    private final boolean keepAlive;
    private final HttpMethod method;
    private final String path;
    private final Map<String, List<String>> query;
    private final byte[] body;
    private final Map<String, String> params;
    private final boolean upgradeRequested;
    private boolean streaming;

    /** @param upgradeRequested whether the client asked to leave HTTP for raw bytes ({@link #upgrade}) */
    Exchange(Channel channel, boolean keepAlive, HttpMethod method, String path, Map<String, List<String>> query,
            byte[] body, Map<String, String> params, boolean upgradeRequested) {
        this.channel = channel;
        this.upgradeRequested = upgradeRequested;
        this.keepAlive = keepAlive;
        this.method = method;
        this.path = path;
        this.query = query;
        this.body = body;
        this.params = params;
    }

    /** The client's process, from its Unix socket's credentials (SO_PEERCRED); empty over TCP. */
    OptionalLong peerPid() {
        if (channel instanceof EpollDomainSocketChannel unix) {
            try {
                return OptionalLong.of(unix.peerCredentials().pid());
            } catch (java.io.IOException e) {
                return OptionalLong.empty();
            }
        }
        return OptionalLong.empty();
    }

    HttpMethod method() {
        return method;
    }

    String path() {
        return path;
    }

    byte[] body() {
        return body;
    }

    /** A path parameter of the matched route, e.g. {@code id} in {@code /v1/containers/{id}}. */
    String param(String name) {
        return params.get(name);
    }

    /** This request with the path parameter {@code name} set to {@code value} (a reference resolved to an id). */
    Exchange withParam(String name, String value) {
        Map<String, String> changed = new HashMap<>(params);
        changed.put(name, value);
        return new Exchange(channel, keepAlive, method, path, query, body, changed, upgradeRequested);
    }

    Optional<String> query(String name) {
        List<String> values = query.get(name);
        return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.getLast());
    }

    /** Every value of a repeatable parameter, e.g. {@code ?filter=a&filter=b}; empty when absent. */
    List<String> queries(String name) {
        return query.getOrDefault(name, List.of());
    }

    /** A flag such as {@code ?follow=1}: present and not "0"/"false". */
    boolean flag(String name) {
        return query(name).map(v -> !v.equals("0") && !v.equalsIgnoreCase("false")).orElse(false);
    }

    void json(HttpResponseStatus status, String json) {
        respond(status, JSON, json.getBytes(StandardCharsets.UTF_8));
    }

    void text(HttpResponseStatus status, String contentType, String text) {
        respond(status, contentType, text.getBytes(StandardCharsets.UTF_8));
    }

    private void respond(HttpResponseStatus status, String contentType, byte[] content) {
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(content));
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        HttpUtil.setContentLength(response, content.length);
        if (status == HttpResponseStatus.UNAUTHORIZED) {
            response.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
        }
        finish(channel.writeAndFlush(response));
    }

    /**
     * Answers with {@code failure}. Once a stream has started its status is sent, so the error goes
     * as one last JSON line instead.
     */
    void fail(Throwable failure) {
        ApiErrors.Rendered error = ApiErrors.render(failure);
        if (streaming) {
            write(("{\"error\":" + error.json() + "}\n").getBytes(StandardCharsets.UTF_8));
            end();
        } else {
            json(error.status(), error.json());
        }
    }

    /** Starts a chunked 200 response; follow with {@link #write} and {@link #end}. */
    void startStream(String contentType) {
        HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        response.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType)
                .set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
        streaming = true;
        channel.writeAndFlush(response);
    }

    /** Sends one chunk and waits until it is written, so a slow client slows the producer; false once the client is gone. */
    boolean write(byte[] data) {
        if (data.length == 0) {
            return channel.isActive();
        }
        return channel.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(data))).awaitUninterruptibly().isSuccess();
    }

    void end() {
        finish(channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT));
    }

    /** Refuses (400) a request that did not ask to leave HTTP ({@code Connection: Upgrade}, {@code Upgrade: tcp}). */
    void requireUpgradeRequest() {
        if (!upgradeRequested) {
            throw new HttpError(HttpResponseStatus.BAD_REQUEST, "INVALID_ARGUMENT", "Upgrade",
                    "this is an interactive session: ask for it with the headers Connection: Upgrade and Upgrade: tcp");
        }
    }

    /**
     * Answers 101 Switching Protocols and leaves HTTP: from here the connection carries raw bytes both
     * ways. Refused with 400 unless the client asked for it ({@link #requireUpgradeRequest}).
     */
    UpgradedConnection upgrade() {
        requireUpgradeRequest();
        UpgradedConnection connection = new UpgradedConnection(channel);
        // On the event loop, so no byte the client sends after the 101 reaches the HTTP decoder.
        channel.eventLoop().submit(() -> {
            ChannelPipeline pipeline = channel.pipeline();
            pipeline.remove(BodyLimit.class); // nothing more is aggregated …
            pipeline.remove(RequestTimeout.class); // … or timed: the session lasts as long as the client wants
            pipeline.remove(ApiHandler.class);
            pipeline.addLast(connection.inboundHandler());
            HttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS);
            response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
                    .set(HttpHeaderNames.UPGRADE, UPGRADE_PROTOCOL);
            pipeline.write(response); // encoded now, while the codec is still there
            pipeline.remove(HttpServerCodec.class); // what it had buffered goes on to the session as raw bytes
            channel.flush();
        }).syncUninterruptibly();
        return connection;
    }

    /** Closes the connection without waiting: a stream's client is dropped, and a write waiting on it fails. */
    void abort() {
        channel.close();
    }

    boolean clientConnected() {
        return channel.isActive();
    }

    private void finish(ChannelFuture written) {
        if (!keepAlive) {
            written.addListener(ChannelFutureListener.CLOSE);
        }
    }
}
