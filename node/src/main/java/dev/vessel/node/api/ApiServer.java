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
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The HTTP/JSON API on Netty (epoll): the Unix socket, mode 0660 (root and the socket's group), and
 * optionally 127.0.0.1:port with a bearer token. Routes are the resource handlers' (containers, images,
 * system); this class only listens, within its bounds: the request body's size, the time a connection
 * has to deliver a request, and the number of open connections.
 */
public final class ApiServer implements AutoCloseable {
    /**
     * Where to listen and how much to accept.
     *
     * @param requestTimeout how long a connection may take to deliver a whole request, from its opening or
     *                       its previous response
     * @param maxConnections the most connections open at once, over both listeners
     */
    public record Listeners(Path socket, Optional<Integer> tcpPort, Optional<String> token, int maxBodyBytes,
            Duration requestTimeout, int maxConnections) {
    }

    private static final Set<PosixFilePermission> SOCKET_MODE = PosixFilePermissions.fromString("rw-rw----");
    private static final Set<PosixFilePermission> PRIVATE_DIR = PosixFilePermissions.fromString("rwx------");

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
            ConnectionLimit limit = new ConnectionLimit(listeners.maxConnections());
            channels.add(bindUnix(bootstrap(group, router, Optional.empty(), listeners, limit), listeners.socket()));
            if (listeners.tcpPort().isPresent()) {
                channels.add(bootstrap(group, router, listeners.token(), listeners, limit)
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
        ContainerNames names = new ContainerNames(node.containerizer(), node.paths());
        ContainersApi containers = new ContainersApi(node, metrics, names);
        ImagesApi images = new ImagesApi(node.images(), node.events());
        ContainerStats stats = new ContainerStats(node.containerizer(), names);
        EventsApi events = new EventsApi(node.events(), names);
        SystemApi system = new SystemApi(node, metrics);
        MachinesApi vms = new MachinesApi(node.machines(), node.machineSnapshots());
        StdioApi stdio = new StdioApi(node.containerizer());
        PodsApi pods = new PodsApi(node.containerizer(), names);
        OciApi oci = new OciApi(containers, node.containerizer());
        ContainerUsers users = new ContainerUsers(node.containerizer());
        SystemDf df = new SystemDf(node, users);
        NetworksApi networks = new NetworksApi(node.networks(), users);
        VolumesApi volumes = new VolumesApi(node.volumes(), users);
        return new Router()
                .add(HttpMethod.POST, "/v1/containers", containers::create)
                .add(HttpMethod.GET, "/v1/containers", containers::list)
                .add(HttpMethod.GET, "/v1/containers/{id}", names.resolving(containers::inspect))
                .add(HttpMethod.DELETE, "/v1/containers/{id}", names.resolving(containers::delete))
                .add(HttpMethod.POST, "/v1/containers/{id}/wait", names.resolving(containers::await))
                .add(HttpMethod.POST, "/v1/containers/{id}/kill", names.resolving(containers::kill))
                .add(HttpMethod.POST, "/v1/containers/{id}/stop", names.resolving(containers::stop))
                .add(HttpMethod.POST, "/v1/containers/{id}/start", names.resolving(containers::start))
                .add(HttpMethod.POST, "/v1/containers/{id}/restart", names.resolving(containers::restart))
                .add(HttpMethod.POST, "/v1/containers/{id}/update", names.resolving(containers::update))
                .add(HttpMethod.POST, "/v1/containers/{id}/rename", names.resolving(containers::rename))
                .add(HttpMethod.POST, "/v1/containers/{id}/pause", names.resolving(containers::pause))
                .add(HttpMethod.POST, "/v1/containers/{id}/resume", names.resolving(containers::resume))
                .add(HttpMethod.GET, "/v1/containers/{id}/top", names.resolving(containers::top))
                .add(HttpMethod.POST, "/v1/containers/{id}/healthcheck", names.resolving(containers::healthcheck))
                .add(HttpMethod.GET, "/v1/containers/{id}/logs", names.resolving(containers::logs))
                .add(HttpMethod.GET, "/v1/containers/{id}/stats", names.resolving(stats::stats))
                .add(HttpMethod.GET, "/v1/containers/{id}/archive", names.resolving(containers::getArchive))
                .add(HttpMethod.PUT, "/v1/containers/{id}/archive", names.resolving(containers::putArchive))
                .add(HttpMethod.POST, "/v1/containers/{id}/attach", names.resolving(stdio::attach))
                .add(HttpMethod.POST, "/v1/containers/{id}/resize", names.resolving(stdio::resize))
                .add(HttpMethod.POST, "/v1/containers/{id}/exec", names.resolving(stdio::create))
                .add(HttpMethod.GET, "/v1/containers/{id}/exec/{eid}", names.resolving(stdio::inspect))
                .add(HttpMethod.POST, "/v1/containers/{id}/exec/{eid}/start", names.resolving(stdio::start))
                .add(HttpMethod.POST, "/v1/containers/{id}/exec/{eid}/resize", names.resolving(stdio::resizeExec))
                .add(HttpMethod.POST, "/v1/pods", pods::create)
                .add(HttpMethod.GET, "/v1/pods", pods::list)
                .add(HttpMethod.GET, "/v1/pods/{name}", pods::inspect)
                .add(HttpMethod.DELETE, "/v1/pods/{name}", pods::delete)
                .add(HttpMethod.POST, "/v1/pods/{name}/stop", pods::stop)
                .add(HttpMethod.POST, "/v1/networks", networks::create)
                .add(HttpMethod.GET, "/v1/networks", networks::list)
                .add(HttpMethod.POST, "/v1/networks/prune", networks::prune)
                .add(HttpMethod.GET, "/v1/networks/{name}", networks::inspect)
                .add(HttpMethod.DELETE, "/v1/networks/{name}", networks::delete)
                .add(HttpMethod.POST, "/v1/volumes", volumes::create)
                .add(HttpMethod.GET, "/v1/volumes", volumes::list)
                .add(HttpMethod.POST, "/v1/volumes/prune", volumes::prune)
                .add(HttpMethod.GET, "/v1/volumes/{name}", volumes::inspect)
                .add(HttpMethod.DELETE, "/v1/volumes/{name}", volumes::delete)
                .add(HttpMethod.POST, "/v1/oci/containers", oci::create)
                .add(HttpMethod.GET, "/v1/oci/containers", oci::list)
                .add(HttpMethod.GET, "/v1/oci/containers/{id}", oci::state)
                .add(HttpMethod.POST, "/v1/oci/containers/{id}/start", oci::start)
                .add(HttpMethod.POST, "/v1/oci/containers/{id}/attach", ex -> {
                    oci.adoptShim(ex);
                    stdio.attach(ex);
                })
                .add(HttpMethod.POST, "/v1/oci/containers/{id}/exec", oci::exec)
                .add(HttpMethod.POST, "/v1/oci/containers/{id}/update", oci::update)
                .add(HttpMethod.GET, "/v1/oci/containers/{id}/stats", oci::stats)
                .add(HttpMethod.DELETE, "/v1/oci/containers/{id}", oci::delete)
                .add(HttpMethod.POST, "/v1/vms", vms::create)
                .add(HttpMethod.GET, "/v1/vms", vms::list)
                .add(HttpMethod.GET, "/v1/vms/{name}", vms::inspect)
                .add(HttpMethod.DELETE, "/v1/vms/{name}", vms::delete)
                .add(HttpMethod.POST, "/v1/vms/{name}/start", vms::start)
                .add(HttpMethod.POST, "/v1/vms/{name}/update", vms::update)
                .add(HttpMethod.POST, "/v1/vms/{name}/stop", vms::stop)
                .add(HttpMethod.POST, "/v1/vms/{name}/reboot", vms::reboot)
                .add(HttpMethod.GET, "/v1/vms/{name}/logs", vms::logs)
                .add(HttpMethod.POST, "/v1/vms/{name}/console", vms::console)
                .add(HttpMethod.GET, "/v1/vms/{name}/snapshots", vms::snapshots)
                .add(HttpMethod.POST, "/v1/vms/{name}/snapshots", vms::createSnapshot)
                .add(HttpMethod.DELETE, "/v1/vms/{name}/snapshots/{snapshot}", vms::deleteSnapshot)
                .add(HttpMethod.POST, "/v1/vms/{name}/snapshots/{snapshot}/restore", vms::restoreSnapshot)
                .add(HttpMethod.POST, "/v1/vms/{name}/image", vms::image)
                .add(HttpMethod.POST, "/v1/images/pull", images::pull)
                .add(HttpMethod.POST, "/v1/images/gc", images::collectGarbage)
                .add(HttpMethod.GET, "/v1/images", images::list)
                .add(HttpMethod.DELETE, "/v1/images/{*ref}", images::remove)
                .add(HttpMethod.GET, "/v1/info", system::info)
                .add(HttpMethod.GET, "/v1/health", system::health)
                .add(HttpMethod.GET, "/v1/events", events::stream)
                .add(HttpMethod.GET, "/v1/system/df", df::df)
                .add(HttpMethod.GET, "/metrics", system::metrics);
    }

    /**
     * Binds the Unix socket inside a fresh 0700 directory, sets its mode there, then renames it into place:
     * bind creates the file with the process umask's mode, and this way no one else can reach it before it
     * has its final one.
     */
    private static Channel bindUnix(ServerBootstrap bootstrap, Path socket) throws IOException, InterruptedException {
        Path parent = socket.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        // we hold the state directory's lock, so a socket file (or a bind directory) left here is a dead daemon's
        Files.deleteIfExists(socket);
        // short, so that the path stays within sun_path's 108 bytes whenever the final one does
        Path privateDir = parent.resolve("." + ProcessHandle.current().pid());
        deleteBindDir(privateDir);
        Files.createDirectory(privateDir, PosixFilePermissions.asFileAttribute(PRIVATE_DIR));
        try {
            Files.setPosixFilePermissions(privateDir, PRIVATE_DIR); // the umask may have taken bits off; never adds
            Path bound = privateDir.resolve("s");
            Channel channel = bootstrap.channel(EpollServerDomainSocketChannel.class)
                    .bind(new DomainSocketAddress(bound.toString())).sync().channel();
            Files.setPosixFilePermissions(bound, SOCKET_MODE);
            Files.move(bound, socket, StandardCopyOption.ATOMIC_MOVE);
            return channel;
        } finally {
            deleteBindDir(privateDir);
        }
    }

    private static void deleteBindDir(Path dir) throws IOException {
        Files.deleteIfExists(dir.resolve("s"));
        Files.deleteIfExists(dir);
    }

    private static ServerBootstrap bootstrap(EventLoopGroup group, Router router, Optional<String> token,
            Listeners listeners, ConnectionLimit limit) {
        return new ServerBootstrap().group(group).childHandler(new ChannelInitializer<>() {
            @Override
            protected void initChannel(Channel ch) {
                if (limit.admit(ch)) {
                    ch.pipeline().addLast(new HttpServerCodec(), new BodyLimit(listeners.maxBodyBytes()),
                            new RequestTimeout(listeners.requestTimeout()), new ApiHandler(router, token));
                }
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
