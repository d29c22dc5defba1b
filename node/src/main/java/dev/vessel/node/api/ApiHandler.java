package dev.vessel.node.api;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Map;
import java.util.Optional;

/**
 * Checks credentials, routes, and hands each request to a virtual thread: handlers call the
 * containerizer, which blocks (launches, waits, disk), and Netty's event loop must never block.
 */
final class ApiHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
    private static final System.Logger LOG = System.getLogger(ApiHandler.class.getName());

    private final Router router;
    private final Optional<byte[]> token;

    /** @param token the bearer token this listener requires; empty for the Unix socket, guarded by its mode */
    ApiHandler(Router router, Optional<String> token) {
        this.router = router;
        this.token = token.map(t -> ("Bearer " + t).getBytes(StandardCharsets.UTF_8));
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
        QueryStringDecoder uri = new QueryStringDecoder(request.uri());
        Exchange bare = new Exchange(ctx.channel(), HttpUtil.isKeepAlive(request), request.method(), uri.rawPath(),
                Map.of(), new byte[0], Map.of(), false);
        if (!request.decoderResult().isSuccess()) {
            bare.fail(new HttpError(HttpResponseStatus.BAD_REQUEST, "INVALID_ARGUMENT", null,
                    "malformed HTTP request: " + request.decoderResult().cause().getMessage()));
            return;
        }
        if (!authorized(request)) {
            bare.fail(new HttpError(HttpResponseStatus.UNAUTHORIZED, "UNAUTHENTICATED", "Authorization",
                    "this listener needs the header Authorization: Bearer <token>"));
            return;
        }
        Router.Match match;
        try {
            match = router.route(request.method(), uri.rawPath());
        } catch (HttpError e) {
            bare.fail(e);
            return;
        }
        Exchange exchange = new Exchange(ctx.channel(), HttpUtil.isKeepAlive(request), request.method(), uri.rawPath(),
                uri.parameters(), ByteBufUtil.getBytes(request.content()), match.params(), upgradeRequested(request));
        Thread.ofVirtual().name("api " + request.method() + " " + uri.rawPath()).start(() -> {
            try {
                match.handler().handle(exchange);
            } catch (Throwable t) {
                exchange.fail(t);
            }
        });
    }

    private static boolean upgradeRequested(FullHttpRequest request) {
        return request.headers().containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE, true)
                && request.headers().contains(HttpHeaderNames.UPGRADE, Exchange.UPGRADE_PROTOCOL, true);
    }

    private boolean authorized(FullHttpRequest request) {
        if (token.isEmpty()) {
            return true;
        }
        String given = request.headers().get(HttpHeaderNames.AUTHORIZATION);
        // constant time, so the comparison does not leak how much of the token was right
        return given != null && MessageDigest.isEqual(token.get(), given.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        LOG.log(Level.DEBUG, "API connection failed: {0}", cause.toString());
        ctx.close();
    }
}
