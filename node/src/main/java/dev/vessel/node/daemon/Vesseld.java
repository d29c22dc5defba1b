package dev.vessel.node.daemon;

import dev.vessel.core.error.VesselException;
import dev.vessel.node.api.ApiServer;
import dev.vessel.node.api.NodeServices;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The node daemon: takes the state directory's lock, wires and recovers the node, serves the API.
 * SIGTERM stops the API and releases the lock; containers keep running (their monitors are separate
 * processes) and the next daemon recovers them, as containerd does.
 */
@Command(name = "vesseld", mixinStandardHelpOptions = true, description = "The Vessel node daemon.")
public final class Vesseld implements Callable<Integer> {
    @Option(names = "--config", description = "JSON configuration file; flags win over it")
    private Path configFile;
    @Option(names = "--state-dir", description = "default /var/lib/vessel")
    private Path stateDir;
    @Option(names = "--run-dir", description = "default /run/vessel")
    private Path runDir;
    @Option(names = "--socket", description = "default <run-dir>/vessel.sock")
    private Path socket;
    @Option(names = "--tcp-port", description = "also listen on 127.0.0.1:PORT (needs --token-file)")
    private Integer tcpPort;
    @Option(names = "--token-file", description = "bearer token TCP clients must send")
    private Path tokenFile;
    @Option(names = "--cgroup-parent", description = "cgroup under which containers go, default vessel")
    private String cgroupParent;
    @Option(names = "--cni-config-dir", description = "default /etc/cni/net.d")
    private Path cniConfigDir;
    @Option(names = "--cni-plugin-dir", description = "repeatable; default /usr/lib/cni and /opt/cni/bin")
    private List<Path> cniPluginDirs;
    @Option(names = "--docker-volume-plugin-dir", description = "default /run/docker/plugins")
    private Path dockerVolumePluginDir;
    @Option(names = "--insecure-registry", description = "repeatable: registries spoken to over plain HTTP")
    private List<String> insecureRegistries;
    @Option(names = "--fetcher-file-root", description = "repeatable: where file:// URIs may point")
    private List<Path> fetcherFileRoots;
    @Option(names = "--max-body-bytes", description = "largest request body accepted, default 1 MiB")
    private Integer maxBodyBytes;
    @Option(names = "--guest-artifacts", description = "VM guest kernel + initramfs directory; default"
            + " $VESSEL_GUEST_DIR, else the installation's lib/vessel/guest, else a checkout's images/target/guest,"
            + " else <state-dir>/guest")
    private Path guestArtifactsDir;
    @Option(names = "--accelerator", description = "auto (default), kvm or tcg")
    private String accelerator;
    @Option(names = "--libvirt-uri", description = "default qemu:///system")
    private String libvirtUri;
    @Option(names = "--vm-warm-pool", description = "VM guests kept ready ahead of demand (booted, or restored"
            + " from the guest template with --vm-templates), default 0")
    private Integer vmWarmPool;
    @Option(names = "--vm-tcg-code-cache-mib", paramLabel = "MIB",
            description = "under TCG, each guest's translated-code cache (16-2048 MiB); default 0: QEMU's own")
    private Integer vmTcgCodeCacheMib;
    @Option(names = "--vm-templates", description = "restore VM tasks from a saved, warmed-up guest instead of"
            + " booting each (those without VM options, volumes or networks of their own), and the warm pool's"
            + " guests too")
    private Boolean vmTemplates;
    @Option(names = "--isolation", split = ",", paramLabel = "NAME",
            description = "the host's isolators, e.g. cgroups,cgroups/memory,namespaces; default every one this host can run")
    private List<String> isolation;
    @Option(names = "--api-request-timeout-seconds",
            description = "seconds an API connection has to deliver a whole request, default 60")
    private Integer apiRequestTimeoutSeconds;
    @Option(names = "--api-max-connections", description = "API connections open at once, default 256")
    private Integer apiMaxConnections;
    @Option(names = "--node-memory-limit", paramLabel = "SIZE",
            description = "memory all containers may use together (64m, 4g…), set on the cgroup parent; default none")
    private String nodeMemoryLimit;
    @Option(names = "--node-pids-limit", paramLabel = "N",
            description = "processes and threads all containers may have together, set on the cgroup parent; default none")
    private Long nodePidsLimit;
    @Option(names = "--allow-unconfined-devices", description = "start even where containers' device access cannot be"
            + " confined (no v1 devices controller nor a cgroup v2 hierarchy containers are placed in); refused otherwise")
    private Boolean allowUnconfinedDevices;
    @Option(names = "--userns-default", paramLabel = "MODE",
            description = "user namespace of a container that names none: host (default) or auto")
    private String usernsDefault;
    @Option(names = "--userns-user", description = "whose subordinate ids userns=auto uses, default vessel")
    private String usernsUser;
    @Option(names = "--subuid-file", description = "default /etc/subuid")
    private Path subuidFile;
    @Option(names = "--subgid-file", description = "default /etc/subgid")
    private Path subgidFile;
    // Where GPUs are discovered: for tests and unusual hosts (a sysfs mounted elsewhere, a chroot).
    @Option(names = "--gpu-sysfs-root", paramLabel = "DIR", description = "sysfs where GPUs are discovered, default /sys")
    private Path gpuSysfsRoot;
    @Option(names = "--gpu-proc-root", paramLabel = "DIR",
            description = "procfs holding the NVIDIA driver's driver/nvidia/gpus, default /proc")
    private Path gpuProcRoot;
    @Option(names = "--gpu-dev-root", paramLabel = "DIR", description = "where the GPUs' device nodes are, default /dev")
    private Path gpuDevRoot;
    @Option(names = "--gpu-ld-cache", paramLabel = "FILE",
            description = "linker cache the NVIDIA driver's libraries are found in, default /etc/ld.so.cache")
    private Path gpuLdCache;
    @Option(names = "--gpu-bin-dir", paramLabel = "DIR",
            description = "repeatable: where the NVIDIA driver's programs (nvidia-smi) are, default /usr/bin and the like")
    private List<Path> gpuBinDirs;

    public static void main(String[] args) {
        System.exit(new CommandLine(new Vesseld()).execute(args));
    }

    @Override
    public Integer call() throws Exception {
        DaemonConfig config;
        StateLock lock;
        try {
            DaemonConfig.Settings flags = new DaemonConfig.Settings(stateDir, runDir, socket, tcpPort, tokenFile,
                    cgroupParent, cniConfigDir, cniPluginDirs, dockerVolumePluginDir, insecureRegistries,
                    fetcherFileRoots, maxBodyBytes, guestArtifactsDir, accelerator, libvirtUri, vmWarmPool, vmTcgCodeCacheMib, vmTemplates,
                    isolation,
                    apiRequestTimeoutSeconds, apiMaxConnections, nodeMemoryLimit, nodePidsLimit, allowUnconfinedDevices,
                    usernsDefault, usernsUser, subuidFile, subgidFile, gpuSysfsRoot, gpuProcRoot, gpuDevRoot, gpuLdCache,
                    gpuBinDirs);
            config = flags.over(configFile == null ? DaemonConfig.Settings.NONE
                    : DaemonConfig.Settings.readFile(configFile)).resolve();
            lock = StateLock.acquire(config.paths());
            DaemonDirs.secure(config.paths());
        } catch (VesselException | IOException e) {
            System.err.println("vesseld: " + e.getMessage());
            return 1;
        }
        ApiServer server;
        NodeServices node;
        try {
            node = NodeWiring.start(config);
            server = ApiServer.start(node, new ApiServer.Listeners(config.socket(),
                    config.tcpPort() == 0 ? Optional.empty() : Optional.of(config.tcpPort()), readToken(config),
                    config.maxBodyBytes(), config.apiRequestTimeout(), config.apiMaxConnections()));
        } catch (VesselException | IOException e) {
            System.err.println("vesseld: " + e.getMessage());
            lock.close();
            return 1;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            try {
                node.close();
            } catch (Exception e) {
                System.err.println("vesseld: at shutdown: " + e.getMessage());
            }
            try {
                lock.close();
            } catch (IOException e) {
                // the process is ending: the kernel drops the lock anyway
            }
        }, "vesseld-shutdown"));
        System.out.println("vesseld ready: listening on " + config.socket()
                + (config.tcpPort() == 0 ? "" : " and 127.0.0.1:" + config.tcpPort()));
        System.out.flush();
        new CountDownLatch(1).await(); // serve until a signal ends the process through the shutdown hook
        return 0;
    }

    private static Optional<String> readToken(DaemonConfig config) throws IOException {
        if (config.tcpPort() == 0) {
            return Optional.empty();
        }
        Path file = config.tokenFile().orElseThrow();
        String token = Files.readString(file, StandardCharsets.UTF_8).trim();
        if (token.length() < 16) {
            throw VesselException.invalid("token_file", file + " must hold a token of at least 16 characters");
        }
        return Optional.of(token);
    }
}
