package dev.vessel.node.daemon;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.gpu.GpuDiscovery;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.userns.UserNamespaceMode;
import dev.vessel.isolators.IsolatorCatalog;
import dev.vessel.isolators.cgroups.NodeLimits;
import dev.vessel.isolators.gpu.NvidiaDriverFiles;
import dev.vessel.isolators.namespaces.UserNamespaceRanges;
import dev.vessel.isolators.volume.DockerVolumeIsolator;
import dev.vessel.node.cli.Sizes;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.IntFunction;
import picocli.CommandLine;

/**
 * The daemon's resolved configuration: flags over the JSON file over the defaults.
 *
 * @param tcpPort       loopback TCP port, 0 for none (then {@code tokenFile} is unused)
 * @param maxBodyBytes  the largest request body the API accepts
 * @param guestArtifactsDir where the VM guest's kernel, initramfs and {@code artifacts.properties} are
 *                      (default: {@link GuestDirectory})
 * @param accelerator   auto (KVM where the host has it, else TCG), kvm or tcg
 * @param vmWarmPool    how many VM guests to keep booted ahead of demand (0: none; each costs its memory)
 * @param vmTcgCodeCacheMib under TCG, each guest's translated-code cache in MiB (0: QEMU's default, 1 GiB on a
 *                      host with the memory for it): less memory per guest, more time translating again
 * @param vmTemplates   keep a guest template: a booted, warmed-up guest saved once, that VM tasks without options
 *                      of their own are restored from instead of booting (the launcher's GuestTemplates)
 * @param isolation     the host's isolators by catalog name, as Mesos's {@code --isolation}; empty: every one
 *                      this host can run
 * @param apiRequestTimeout how long an API connection may take to deliver a whole request (from its opening or
 *                      its previous response) before it is closed
 * @param apiMaxConnections the most API connections open at once; the next is answered 503 and closed
 * @param nodeLimits    memory and pids limits on the cgroup parent, for all the node's containers together
 * @param allowUnconfinedDevices start even where containers' devices cannot be confined (no devices cgroup):
 *                      the operator's explicit choice; without it such a host is refused
 * @param usernsDefault the user namespace of a process container whose config names none (host or auto)
 * @param userNamespaces where {@code userns=auto} containers' host ids come from: a user's subordinate ids
 * @param gpuHost       where GPUs and the NVIDIA driver's files are found
 */
public record DaemonConfig(RuntimePaths paths, Path socket, int tcpPort, Optional<Path> tokenFile, String cgroupParent,
        Path cniConfigDir, List<Path> cniPluginDirs, Path dockerVolumePluginDir, List<String> insecureRegistries,
        List<Path> fetcherFileRoots, int maxBodyBytes, Path guestArtifactsDir, String accelerator, String libvirtUri,
        int vmWarmPool, int vmTcgCodeCacheMib, boolean vmTemplates, Optional<List<String>> isolation, Duration apiRequestTimeout, int apiMaxConnections,
        NodeLimits nodeLimits, boolean allowUnconfinedDevices, UserNamespaceMode usernsDefault,
        UserNamespaceRanges.Source userNamespaces, GpuHost gpuHost) {
    /**
     * Where the node's GPUs are discovered and the NVIDIA driver's user-space found: the host's /sys, /proc,
     * /dev, linker cache and binary directories unless told otherwise (for tests and unusual hosts).
     */
    public record GpuHost(Path sysfsRoot, Path procRoot, Path devRoot, Path ldCache, List<Path> binDirs) {
        public GpuHost {
            binDirs = List.copyOf(binDirs);
        }

        public GpuDiscovery discovery() {
            return new GpuDiscovery(sysfsRoot, procRoot, devRoot);
        }

        public NvidiaDriverFiles driverFiles() {
            return new NvidiaDriverFiles(ldCache, binDirs);
        }
    }

    /** A bound on the warm pool: each guest holds hundreds of MiB. */
    static final int MAX_VM_WARM_POOL = 16;
    /** Half the smallest size measured (32 MiB cost a cold start 0.5 s): smaller would translate over and over. */
    static final int MIN_TCG_CODE_CACHE_MIB = 16;
    static final int MAX_TCG_CODE_CACHE_MIB = 2048;
    static final int DEFAULT_API_REQUEST_TIMEOUT_SECONDS = 60;
    static final int DEFAULT_API_MAX_CONNECTIONS = 256;

    /**
     * What one source (the file, or the flags) sets; null where it says nothing. The file's keys are
     * these names; an unknown key is refused so that a typo cannot silently fall back to a default.
     */
    public record Settings(
            @JsonProperty("state_dir") Path stateDir,
            @JsonProperty("run_dir") Path runDir,
            @JsonProperty("socket") Path socket,
            @JsonProperty("tcp_port") Integer tcpPort,
            @JsonProperty("token_file") Path tokenFile,
            @JsonProperty("cgroup_parent") String cgroupParent,
            @JsonProperty("cni_config_dir") Path cniConfigDir,
            @JsonProperty("cni_plugin_dirs") List<Path> cniPluginDirs,
            @JsonProperty("docker_volume_plugin_dir") Path dockerVolumePluginDir,
            @JsonProperty("insecure_registries") List<String> insecureRegistries,
            @JsonProperty("fetcher_file_roots") List<Path> fetcherFileRoots,
            @JsonProperty("max_body_bytes") Integer maxBodyBytes,
            @JsonProperty("guest_artifacts_dir") Path guestArtifactsDir,
            @JsonProperty("accelerator") String accelerator,
            @JsonProperty("libvirt_uri") String libvirtUri,
            @JsonProperty("vm_warm_pool") Integer vmWarmPool,
            @JsonProperty("vm_tcg_code_cache_mib") Integer vmTcgCodeCacheMib,
            @JsonProperty("vm_templates") Boolean vmTemplates,
            @JsonProperty("isolation") List<String> isolation,
            @JsonProperty("api_request_timeout_seconds") Integer apiRequestTimeoutSeconds,
            @JsonProperty("api_max_connections") Integer apiMaxConnections,
            @JsonProperty("node_memory_limit") String nodeMemoryLimit,
            @JsonProperty("node_pids_limit") Long nodePidsLimit,
            @JsonProperty("allow_unconfined_devices") Boolean allowUnconfinedDevices,
            @JsonProperty("userns_default") String usernsDefault,
            @JsonProperty("userns_user") String usernsUser,
            @JsonProperty("subuid_file") Path subuidFile,
            @JsonProperty("subgid_file") Path subgidFile,
            @JsonProperty("gpu_sysfs_root") Path gpuSysfsRoot,
            @JsonProperty("gpu_proc_root") Path gpuProcRoot,
            @JsonProperty("gpu_dev_root") Path gpuDevRoot,
            @JsonProperty("gpu_ld_cache") Path gpuLdCache,
            @JsonProperty("gpu_bin_dirs") List<Path> gpuBinDirs) {

        /** Says nothing: every setting null. */
        static final Settings NONE = merge(Settings.class.getRecordComponents().length, i -> null);

        public static Settings readFile(Path file) {
            ObjectMapper json = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
            try {
                return json.readValue(Files.readAllBytes(file), Settings.class);
            } catch (JacksonException e) {
                throw VesselException.invalid(file.toString(), "bad configuration: " + e.getOriginalMessage());
            } catch (IOException e) {
                throw VesselException.invalid(file.toString(), "cannot read the configuration: " + e.getMessage());
            }
        }

        /** These settings, with {@code fallback}'s where these say nothing. */
        public Settings over(Settings fallback) {
            RecordComponent[] components = Settings.class.getRecordComponents();
            return merge(components.length, i -> or(value(components[i], this), value(components[i], fallback)));
        }

        // Field by field over the record's components, so that a new setting cannot be left out of here.
        private static Settings merge(int count, IntFunction<Object> component) {
            Object[] values = new Object[count];
            for (int i = 0; i < count; i++) {
                values[i] = component.apply(i);
            }
            try {
                Class<?>[] types = Arrays.stream(Settings.class.getRecordComponents()).map(RecordComponent::getType)
                        .toArray(Class<?>[]::new);
                return Settings.class.getDeclaredConstructor(types).newInstance(values);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("Settings' canonical constructor", e);
            }
        }

        private static Object value(RecordComponent component, Settings settings) {
            try {
                return component.getAccessor().invoke(settings);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("Settings." + component.getName(), e);
            }
        }

        private static <T> T or(T value, T fallback) {
            return value != null ? value : fallback;
        }

        /** Fills in the defaults and checks what cannot work. */
        public DaemonConfig resolve() {
            RuntimePaths paths = new RuntimePaths(or(stateDir, RuntimePaths.DEFAULT_STATE_DIR),
                    or(runDir, RuntimePaths.DEFAULT_RUN_DIR));
            int port = or(tcpPort, 0);
            if (port < 0 || port > 65535) {
                throw VesselException.invalid("tcp_port", port + " is not a TCP port");
            }
            if (port != 0 && tokenFile == null) {
                throw VesselException.invalid("token_file", "the TCP listener needs a token file (its clients must"
                        + " send Authorization: Bearer <token>)");
            }
            int maxBody = or(maxBodyBytes, 1 << 20);
            if (maxBody <= 0) {
                throw VesselException.invalid("max_body_bytes", "must be positive");
            }
            String accel = or(accelerator, "auto");
            if (!List.of("auto", "kvm", "tcg").contains(accel)) {
                throw VesselException.invalid("accelerator", "'" + accel + "' must be auto, kvm or tcg");
            }
            int warmPool = or(vmWarmPool, 0);
            if (warmPool < 0 || warmPool > MAX_VM_WARM_POOL) {
                throw VesselException.invalid("vm_warm_pool", warmPool + " must be between 0 and " + MAX_VM_WARM_POOL);
            }
            int tcgCodeCache = or(vmTcgCodeCacheMib, 0);
            if (tcgCodeCache != 0 && (tcgCodeCache < MIN_TCG_CODE_CACHE_MIB || tcgCodeCache > MAX_TCG_CODE_CACHE_MIB)) {
                throw VesselException.invalid("vm_tcg_code_cache_mib", tcgCodeCache + " must be 0 (QEMU's default) or"
                        + " between " + MIN_TCG_CODE_CACHE_MIB + " and " + MAX_TCG_CODE_CACHE_MIB + " MiB");
            }
            int requestTimeout = or(apiRequestTimeoutSeconds, DEFAULT_API_REQUEST_TIMEOUT_SECONDS);
            if (requestTimeout <= 0) {
                throw VesselException.invalid("api_request_timeout_seconds", "must be positive, got " + requestTimeout);
            }
            int maxConnections = or(apiMaxConnections, DEFAULT_API_MAX_CONNECTIONS);
            if (maxConnections <= 0) {
                throw VesselException.invalid("api_max_connections", "must be positive, got " + maxConnections);
            }
            if (isolation != null) {
                IsolatorCatalog.checkNames(isolation, IsolatorCatalog.HOST); // a typo stops the start, naming it
            }
            OptionalLong nodeMemory = OptionalLong.empty();
            if (nodeMemoryLimit != null) {
                try {
                    nodeMemory = OptionalLong.of(Sizes.parse(nodeMemoryLimit));
                } catch (CommandLine.TypeConversionException e) {
                    throw VesselException.invalid("node_memory_limit", e.getMessage());
                }
            }
            if (nodePidsLimit != null && nodePidsLimit <= 0) {
                throw VesselException.invalid("node_pids_limit", "must be a positive number of processes, got "
                        + nodePidsLimit);
            }
            NodeLimits limits = new NodeLimits(nodeMemory,
                    nodePidsLimit == null ? OptionalLong.empty() : OptionalLong.of(nodePidsLimit));
            UserNamespaceMode userns = UserNamespaceMode.parse("userns_default", or(usernsDefault, "host"));
            if (userns == UserNamespaceMode.PRIVATE) {
                throw VesselException.invalid("userns_default", "private is not a default: it takes each container's"
                        + " own id maps; use host or auto");
            }
            UserNamespaceRanges.Source subordinates = new UserNamespaceRanges.Source(
                    or(usernsUser, UserNamespaceRanges.DEFAULT_USER), or(subuidFile, UserNamespaceRanges.DEFAULT_SUBUID),
                    or(subgidFile, UserNamespaceRanges.DEFAULT_SUBGID), UserNamespaceRanges.DEFAULT_SIZE);
            return new DaemonConfig(paths, or(socket, paths.defaultDaemonSocket()).toAbsolutePath(), port,
                    Optional.ofNullable(tokenFile), or(cgroupParent, "vessel"), or(cniConfigDir, Path.of("/etc/cni/net.d")),
                    List.copyOf(or(cniPluginDirs, List.of(Path.of("/usr/lib/cni"), Path.of("/opt/cni/bin")))),
                    or(dockerVolumePluginDir, DockerVolumeIsolator.DEFAULT_PLUGIN_DIR),
                    List.copyOf(or(insecureRegistries, List.of())), List.copyOf(or(fetcherFileRoots, List.of())), maxBody,
                    or(guestArtifactsDir, GuestDirectory.fallback(paths.guestArtifactsDir())).toAbsolutePath(), accel,
                    or(libvirtUri, "qemu:///system"), warmPool, tcgCodeCache, or(vmTemplates, false),
                    Optional.ofNullable(isolation).map(List::copyOf), Duration.ofSeconds(requestTimeout), maxConnections,
                    limits, or(allowUnconfinedDevices, false), userns, subordinates,
                    new GpuHost(or(gpuSysfsRoot, Path.of("/sys")), or(gpuProcRoot, Path.of("/proc")),
                            or(gpuDevRoot, Path.of("/dev")), or(gpuLdCache, NvidiaDriverFiles.HOST_LD_CACHE),
                            or(gpuBinDirs, NvidiaDriverFiles.HOST_BIN_DIRS)));
        }
    }
}
