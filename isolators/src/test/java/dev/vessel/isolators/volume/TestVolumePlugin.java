package dev.vessel.isolators.volume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A tiny Docker volume plugin, run by the tests as a process of its own: it speaks the real protocol
 * on a Unix socket and keeps each volume as a directory under a root. Every call is appended to a log
 * ({@code Endpoint name id}) for the tests to check. A volume whose name starts with {@code bad}
 * fails to mount, as a broken plugin would.
 *
 * <p>Usage: {@code TestVolumePlugin <socket> <volumes-root> <calls-log>}
 */
public final class TestVolumePlugin {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root;
    private final Path calls;

    private TestVolumePlugin(Path root, Path calls) {
        this.root = root;
        this.calls = calls;
    }

    public static void main(String[] args) throws Exception {
        Path socket = Path.of(args[0]);
        TestVolumePlugin plugin = new TestVolumePlugin(Path.of(args[1]), Path.of(args[2]));
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        Channel server = new ServerBootstrap().group(group).channel(EpollServerDomainSocketChannel.class)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), plugin.handler());
                    }
                })
                .bind(new DomainSocketAddress(socket.toFile())).sync().channel();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close().syncUninterruptibly();
            group.shutdownGracefully();
        }));
        server.closeFuture().sync();
    }

    private SimpleChannelInboundHandler<FullHttpRequest> handler() {
        return new SimpleChannelInboundHandler<>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) throws Exception {
                JsonNode body = JSON.readTree(request.content().toString(StandardCharsets.UTF_8).isEmpty()
                        ? "{}" : request.content().toString(StandardCharsets.UTF_8));
                Map<String, Object> reply = new LinkedHashMap<>();
                HttpResponseStatus status = HttpResponseStatus.OK;
                try {
                    handle(request.uri(), body, reply);
                } catch (IOException | IllegalStateException e) {
                    reply.clear();
                    reply.put("Err", e.getMessage());
                    status = HttpResponseStatus.INTERNAL_SERVER_ERROR;
                }
                byte[] bytes = JSON.writeValueAsBytes(reply);
                FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                        Unpooled.wrappedBuffer(bytes));
                response.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/vnd.docker.plugins.v1+json")
                        .set(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
                ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            }
        };
    }

    private void handle(String endpoint, JsonNode body, Map<String, Object> reply) throws IOException {
        String name = body.path("Name").asText();
        Path volume = root.resolve(name);
        record(endpoint + " " + name + " " + body.path("ID").asText());
        switch (endpoint) {
            case "/Plugin.Activate" -> reply.put("Implements", List.of("VolumeDriver"));
            case "/VolumeDriver.Create" -> {
                Files.createDirectories(volume);
                Files.writeString(root.resolve(name + ".opts"), body.path("Opts").toString());
            }
            case "/VolumeDriver.Get" -> reply.put("Volume", describe(existing(volume)));
            case "/VolumeDriver.List" -> {
                List<Map<String, String>> all = new ArrayList<>();
                try (var dirs = Files.list(root)) {
                    dirs.filter(Files::isDirectory).sorted().forEach(d -> all.add(describe(d)));
                }
                reply.put("Volumes", all);
            }
            case "/VolumeDriver.Path", "/VolumeDriver.Mount" -> {
                if (endpoint.endsWith("Mount") && name.startsWith("bad")) {
                    throw new IllegalStateException("the disk of volume " + name + " is on fire");
                }
                reply.put("Mountpoint", existing(volume).toString());
            }
            case "/VolumeDriver.Unmount" -> existing(volume);
            case "/VolumeDriver.Remove" -> {
                try (var files = Files.walk(existing(volume))) {
                    for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                        Files.delete(p);
                    }
                }
            }
            case "/VolumeDriver.Capabilities" -> reply.put("Capabilities", Map.of("Scope", "local"));
            default -> throw new IllegalStateException("unknown endpoint " + endpoint);
        }
        reply.putIfAbsent("Err", "");
    }

    private static Path existing(Path volume) {
        if (!Files.isDirectory(volume)) {
            throw new IllegalStateException("no such volume: " + volume.getFileName());
        }
        return volume;
    }

    private static Map<String, String> describe(Path volume) {
        return Map.of("Name", volume.getFileName().toString(), "Mountpoint", volume.toString());
    }

    private synchronized void record(String call) throws IOException {
        Files.writeString(calls, call.strip() + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
