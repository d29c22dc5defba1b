package dev.vessel.node.api;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpServerCodec;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The HTTP/JSON API on Netty (epoll): the Unix socket, mode 0660, and optionally 127.0.0.1:port with a
 * bearer token. Routes are the resource handlers' (containers, images, system); this class only
 * listens.
 */
public final class ApiServer implements AutoCloseable {
    /** Where to listen and how much to accept. */
    public record Listeners(Path socket, Optional<Integer> tcpPort, Optional<String> token, int maxBodyBytes) {
    }

    private final EventLoopGroup group;
    private final List<Channel> channels;
    private final Path socket;

    private ApiServer(EventLoopGroup group, List<Channel> channels, Path socket) {
        this.group = group;
        this.channels = channels;
        this.socket = socket;
    }

    public static ApiServer start(NodeServices node, Listeners listeners) throws IOException {
        if (!Epoll.isAvailable()) {
            throw new VesselException(ErrorCode.UNAVAILABLE, "api", "Netty's epoll transport cannot load: "
                    + Epoll.unavailabilityCause());
        }
        Router router = routes(node);
        // one loop thread is plenty: it only moves bytes, handlers run on virtual threads
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        List<Channel> channels = new ArrayList<>();
        try {
            Files.createDirectories(listeners.socket().getParent());
            // we hold the state directory's lock, so a socket file left here is a dead daemon's
            Files.deleteIfExists(listeners.socket());
            channels.add(bootstrap(group, router, Optional.empty(), listeners.maxBodyBytes())
                    .channel(EpollServerDomainSocketChannel.class)
                    .bind(new DomainSocketAddress(listeners.socket().toString())).sync().channel());
            Files.setPosixFilePermissions(listeners.socket(), PosixFilePermissions.fromString("rw-rw----"));
            if (listeners.tcpPort().isPresent()) {
                channels.add(bootstrap(group, router, listeners.token(), listeners.maxBodyBytes())
                        .channel(EpollServerSocketChannel.class)
                        .bind(new InetSocketAddress("127.0.0.1", listeners.tcpPort().get())).sync().channel());
            }
        } catch (Exception e) {
            channels.forEach(Channel::close);
            group.shutdownGracefully();
            throw new VesselException(ErrorCode.UNAVAILABLE, "api", "cannot listen: " + e.getMessage(), e);
        }
        return new ApiServer(group, channels, listeners.socket());
    }

    private static Router routes(NodeServices node) {
        NodeMetrics metrics = new NodeMetrics();
        ContainersApi containers = new ContainersApi(node, metrics);
        ImagesApi images = new ImagesApi(node.images());
        SystemApi system = new SystemApi(node, metrics);
        return new Router()
                .add(HttpMethod.POST, "/v1/containers", containers::create)
                .add(HttpMethod.GET, "/v1/containers", containers::list)
                .add(HttpMethod.GET, "/v1/containers/{id}", containers::inspect)
                .add(HttpMethod.DELETE, "/v1/containers/{id}", containers::delete)
                .add(HttpMethod.POST, "/v1/containers/{id}/wait", containers::await)
                .add(HttpMethod.POST, "/v1/containers/{id}/kill", containers::kill)
                .add(HttpMethod.POST, "/v1/containers/{id}/update", containers::update)
                .add(HttpMethod.GET, "/v1/containers/{id}/logs", containers::logs)
                .add(HttpMethod.POST, "/v1/images/pull", images::pull)
                .add(HttpMethod.POST, "/v1/images/gc", images::collectGarbage)
                .add(HttpMethod.GET, "/v1/images", images::list)
                .add(HttpMethod.DELETE, "/v1/images/{*ref}", images::remove)
                .add(HttpMethod.GET, "/v1/info", system::info)
                .add(HttpMethod.GET, "/v1/health", system::health)
                .add(HttpMethod.GET, "/metrics", system::metrics);
    }

    private static ServerBootstrap bootstrap(EventLoopGroup group, Router router,
            Optional<String> token, int maxBodyBytes) {
        return new ServerBootstrap().group(group).childHandler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                ch.pipeline().addLast(new HttpServerCodec(), new BodyLimit(maxBodyBytes), new ApiHandler(router, token));
            }
        });
    }

    /** Stops listening and closes every connection; containers are not touched. */
    @Override
    public void close() {
        channels.forEach(c -> c.close().awaitUninterruptibly());
        group.shutdownGracefully().awaitUninterruptibly();
        try {
            Files.deleteIfExists(socket);
        } catch (IOException e) {
            // a stale socket is replaced by the next daemon anyway
        }
    }
}
