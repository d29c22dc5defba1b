package dev.vessel.isolators.gpu;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Mount;
import dev.vessel.linux.ExternalTool;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The NVIDIA driver's user-space a container with GPUs needs, as Mesos's driver volume gathers it: the
 * driver's libraries found through the host's linker cache (what {@code ldconfig -p} lists, of this
 * machine's architecture) and its programs found in the host's binary directories, each bound read-only
 * under {@value #CONTAINER_DIR} ({@code lib64/<name>}, {@code bin/<name>}), where CUDA images look for
 * them ({@code PATH} and {@code LD_LIBRARY_PATH} of the nvidia/cuda images name these directories).
 * Under the cache's names, so the container links to exactly the host driver's version.
 *
 * <p>Only the compute and utility part (what nvidia-smi and CUDA programs load), as the NVIDIA container
 * toolkit's default capabilities give; the graphics libraries are left out. Read at each launch: a driver
 * upgraded under a running daemon is what the next container gets.
 */
public final class NvidiaDriverFiles {
    /** Where a container finds them; CUDA images put its bin/ and lib64/ on their paths. */
    public static final String CONTAINER_DIR = "/usr/local/nvidia";

    /** The libraries' names before {@code .so} (the NVIDIA container toolkit's compute and utility lists). */
    static final List<String> LIBRARIES = List.of("libcuda", "libcudadebugger", "libnvidia-ml", "libnvidia-cfg",
            "libnvidia-opencl", "libnvidia-ptxjitcompiler", "libnvidia-fatbinaryloader", "libnvidia-compiler",
            "libnvidia-nvvm", "libnvidia-gpucomp", "libnvidia-allocator", "libnvidia-pkcs11",
            "libnvidia-pkcs11-openssl3");

    static final List<String> BINARIES = List.of("nvidia-smi", "nvidia-debugdump", "nvidia-persistenced",
            "nvidia-cuda-mps-control", "nvidia-cuda-mps-server");

    /** The linker cache of the host, which the host's ldconfig maintains. */
    public static final Path HOST_LD_CACHE = Path.of("/etc/ld.so.cache");
    public static final List<Path> HOST_BIN_DIRS = List.of(Path.of("/usr/bin"), Path.of("/usr/local/bin"),
            Path.of("/usr/sbin"), Path.of("/bin"), Path.of("/sbin"));

    /** One line of {@code ldconfig -p}: {@code \tlibcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1}. */
    private static final Pattern CACHE_LINE = Pattern.compile("\\s+(\\S+) \\(([^)]*)\\)(?: OS ABI: [^=]*)? => (\\S.*)");
    private static final List<String> MOUNT_OPTIONS = List.of("ro", "nosuid", "nodev");
    private static final Duration LDCONFIG_TIMEOUT = Duration.ofSeconds(30);

    private final Path ldCache;
    private final List<Path> binDirs;

    /** @param ldCache the linker cache to read (the host's, or a test's); @param binDirs where programs are looked for */
    public NvidiaDriverFiles(Path ldCache, List<Path> binDirs) {
        this.ldCache = Objects.requireNonNull(ldCache, "ldCache");
        this.binDirs = List.copyOf(binDirs);
    }

    public static NvidiaDriverFiles host() {
        return new NvidiaDriverFiles(HOST_LD_CACHE, HOST_BIN_DIRS);
    }

    /** Read-only bind mounts of every driver file found; none where the driver's user-space is not installed. */
    public List<Mount> mounts() {
        Map<String, Path> byTarget = new LinkedHashMap<>();
        try {
            for (CacheEntry entry : cacheEntries()) {
                if (isDriverLibrary(entry.name()) && Files.exists(entry.path())) {
                    byTarget.putIfAbsent(CONTAINER_DIR + "/lib64/" + entry.name(), entry.path().toRealPath());
                }
            }
            for (String binary : BINARIES) {
                for (Path dir : binDirs) {
                    Path file = dir.resolve(binary);
                    if (Files.isRegularFile(file) && Files.isExecutable(file)) {
                        byTarget.putIfAbsent(CONTAINER_DIR + "/bin/" + binary, file.toRealPath());
                        break;
                    }
                }
            }
        } catch (IOException e) {
            throw VesselException.internal(ldCache.toString(), "cannot gather the NVIDIA driver's files: "
                    + e.getMessage(), e);
        }
        List<Mount> mounts = new ArrayList<>();
        byTarget.forEach((target, source) -> mounts.add(Mount.newBuilder().setType("bind")
                .setSource(source.toString()).setTarget(target).addAllOptions(MOUNT_OPTIONS).build()));
        return mounts;
    }

    static boolean isDriverLibrary(String name) {
        return LIBRARIES.stream().anyMatch(lib -> name.equals(lib + ".so") || name.startsWith(lib + ".so."));
    }

    record CacheEntry(String name, String flags, Path path) {
    }

    /** The cache's entries of this machine's architecture (a 64-bit host's cache lists 32-bit ones too). */
    List<CacheEntry> cacheEntries() throws IOException {
        if (!Files.isRegularFile(ldCache)) {
            return List.of();
        }
        String listing = ldconfig("-p", "-C", ldCache.toString());
        String arch = architectureFlag();
        List<CacheEntry> entries = new ArrayList<>();
        for (String line : listing.split("\n")) {
            Matcher m = CACHE_LINE.matcher(line);
            if (m.matches() && (arch == null || m.group(2).contains(arch))) {
                entries.add(new CacheEntry(m.group(1), m.group(2), Path.of(m.group(3).strip())));
            }
        }
        return entries;
    }

    /** How ldconfig tags this machine's 64-bit libraries; null where unknown (then every entry counts). */
    private static String architectureFlag() {
        return switch (System.getProperty("os.arch")) {
            case "amd64", "x86_64" -> "x86-64";
            case "aarch64" -> "AArch64";
            default -> null;
        };
    }

    /** glibc's ldconfig reads its cache format; it only reads here (-p). */
    private static String ldconfig(String... args) throws IOException {
        List<String> command = new ArrayList<>();
        command.add(Files.isExecutable(Path.of("/sbin/ldconfig")) ? "/sbin/ldconfig" : "ldconfig");
        command.addAll(List.of(args));
        try {
            return ExternalTool.run(command, LDCONFIG_TIMEOUT);
        } catch (ExternalTool.Failure e) {
            throw new IOException(String.join(" ", command) + " failed: " + e.getMessage(), e);
        }
    }
}
