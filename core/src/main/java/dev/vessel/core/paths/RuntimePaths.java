package dev.vessel.core.paths;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The one place that knows Vessel's on-disk layout. Nobody else builds these paths by hand: a
 * subsystem that owns a subtree names what is inside it in a paths class of its own, which takes its
 * root from here (marked "see" below).
 *
 * <pre>
 * state dir (default /var/lib/vessel): survives reboots
 *   vesseld.lock                         held by the one daemon using this state dir; holds its pid
 *   blobs/  images/                      the image store (see provisioner's BlobStore, ImageIndex)
 *   layers/                              unpacked layers (see provisioner's LayerPaths)
 *   volumes/&lt;name&gt;/                      a named volume (see core.volume.NamedVolumes):
 *     volume.json                        its name, labels and creation time
 *     _data/                             the user's data, what containers mount
 *   volumes/.tmp-&lt;name&gt;-&lt;random&gt;/        a volume being created (renamed into place when whole)
 *   guest/                               the VM guest's kernel, initramfs and artifacts.properties
 *   fetcher/uris/  fetcher/downloads/    the fetcher's URI index and unfinished downloads
 *   rootfs/&lt;id&gt;/                         a container's provisioned rootfs (see provisioner's RootfsPaths)
 *   bin/vessel-launch                    the process launcher's native helper, installed from its jar
 *   seccomp/default-&lt;caps&gt;.bpf     a seccomp program compiled ahead of time (a guest image's)
 *   vm-software/software.erofs           the VM launcher's copy of the guest's software image
 *   vm-templates/qemu                    the emulator of guest templates' domains (the launcher's TemplateWrapper)
 *   vm-templates/&lt;template&gt;/             a guest template: memory (its RAM), state (its devices), migrate.sock
 *                                        while it is saved; removed by the next daemon
 * run dir (default /run/vessel): what is running now (its checkpoints are not fsync'd: a reboot ends it)
 *   boot_id                              the boot the run dir was written in
 *   .overlay-probe-&lt;random&gt;/             a moment at start-up: does the run dir take overlay upper dirs?
 *   vessel.sock                          the daemon's API socket, unless configured elsewhere
 *   cni/&lt;id&gt;/                            the network/cni isolator's netns and attachments (see CniPaths)
 *   cni-leases/&lt;network&gt;/               host-local's IP reservations for the networks the daemon created
 *   vm-network/&lt;id&gt;.ckpt                 the vm/network isolator's taps per container
 *   gpus/&lt;id&gt;.ckpt                       the GPUs a container holds (core.gpu.GpuAllocator)
 *   vm-sockets/&lt;hash&gt;.sock               a VM's agent socket when its container dir is too deep for one
 *   io/&lt;hash&gt;.sock                       a task's or exec's attach socket when its directory is too deep for one
 *   vm-pool/&lt;guest&gt;/                     a warm guest booted ahead of demand: agent.sock, console.log, and
 *     share/                             the directory its guest mounts; a task's rootfs is bound on share/root
 *   shares/  volumes/  warm-up-root/     in a guest only: the guest agent's mounts (see GuestPaths)
 *   containers/&lt;id&gt;/                    one directory per top-level container
 *     container.ckpt                     the containerizer's record (config, state, termination)
 *     name                               the node's record of its name, once renamed (node.api's ContainerNames)
 *     launcher.ckpt                      the launcher's checkpoint
 *     isolators/&lt;isolator&gt;.ckpt         each isolator's checkpoint
 *     sandbox/                           fetched URIs, the task's working files
 *     stdout.log, stderr.log (+ .1)      the task's output, written by its monitor
 *     monitor.log                        the monitor's own diagnostics
 *     exit                               how the task ended, written by its monitor (through exit.tmp)
 *     attach.sock                        a process task's stdio, served by its monitor while it runs
 *     agent.sock                         a VM task: the host end of the guest agent's channel
 *     console.log                        a VM task: the guest's serial console
 *     execs/&lt;exec id&gt;/                   one process exec'd into the running task (see {@link #execDir})
 *       exec.ckpt                        the containerizer's record of it (config, state, exit code)
 *       launcher.ckpt                    its launcher's checkpoint (the slot the containerizer hands out with it)
 *       …                                what its launcher keeps there: its exit status, logs, monitor log
 *     containers/&lt;id&gt;/                  nested containers, same layout
 * </pre>
 *
 * <p>The launch helper gets the monitor's four files in its plan and derives only their {@code .1}
 * and {@code .tmp} neighbours.
 */
public record RuntimePaths(Path stateDir, Path runDir) {
    public static final Path DEFAULT_STATE_DIR = Path.of("/var/lib/vessel");
    public static final Path DEFAULT_RUN_DIR = Path.of("/run/vessel");

    /**
     * A warm guest's rootfs relative to its share: the guest agent is told it
     * ({@code LaunchTask.rootfs_path}), as the share's top is held open by QEMU since boot.
     */
    public static final String WARM_GUEST_ROOTFS_IN_SHARE = "root";

    private static final String CONTAINERS = "containers";
    private static final String CHECKPOINT_SUFFIX = ".ckpt";
    /** sun_path holds 108 bytes including the terminating NUL: a socket QEMU, the helper or Netty opens. */
    private static final int MAX_SOCKET_PATH_BYTES = 107;
    /**
     * A socket this JVM binds or connects to through the JDK's {@code UnixDomainSocketAddress}: the JDK refuses a
     * path of 107 bytes ("Unix domain path too long"), keeping a byte of sun_path spare.
     */
    private static final int MAX_JDK_SOCKET_PATH_BYTES = 106;
    /**
     * The name of a socket under the run dir for a directory too deep for its own: a hash of the directory, 96 bits
     * (no two of a node's sockets collide), short enough that a run dir of 65 bytes holds the hashed place of a
     * socket the JDK opens ({@code vm-sockets/<24>.sock}: 41 bytes more) and of 66 bytes one QEMU opens.
     */
    private static final int HASHED_SOCKET_NAME_CHARS = 24;

    public RuntimePaths {
        stateDir = stateDir.toAbsolutePath().normalize();
        runDir = runDir.toAbsolutePath().normalize();
    }

    public static RuntimePaths defaults() {
        return new RuntimePaths(DEFAULT_STATE_DIR, DEFAULT_RUN_DIR);
    }

    public Path blobsDir() {
        return stateDir.resolve("blobs");
    }

    public Path layersDir() {
        return stateDir.resolve("layers");
    }

    public Path imagesDir() {
        return stateDir.resolve("images");
    }

    /** Where the provisioner assembles containers' root filesystems, one directory each. */
    public Path provisionedRootfsDir() {
        return stateDir.resolve("rootfs");
    }

    public Path provisionedRootfsDir(String containerId) {
        return provisionedRootfsDir().resolve(containerId);
    }

    /** VM tasks' views of their root filesystems, one directory each (the vm/rootfs isolator's). */
    public Path vmRootfsDir() {
        return stateDir.resolve("vm-rootfs");
    }

    public Path vmRootfsDir(String containerId) {
        return vmRootfsDir().resolve(containerId);
    }

    /** The mapped layers VM tasks' rootfs views share, one per image layer chain (the vm/rootfs isolator's). */
    public Path vmMappedLayersDir() {
        return stateDir.resolve("vm-mapped");
    }

    /** The long-lived VMs of {@code /v1/vms}, one directory each: what it was created with, and its disk. */
    public Path machinesDir() {
        return stateDir.resolve("machines");
    }

    /** The unified fetcher's URI index and downloads (the artifacts themselves are blobs). */
    public Path fetcherDir() {
        return stateDir.resolve("fetcher");
    }

    /** The fetcher's URI index: which blob each fetched URI last was. */
    public Path fetcherUrisDir() {
        return fetcherDir().resolve("uris");
    }

    /** Downloads whose digest is not known yet (no expected digest), until they are stored as blobs. */
    public Path fetcherDownloadsDir() {
        return fetcherDir().resolve("downloads");
    }

    public Path volumesDir() {
        return stateDir.resolve("volumes");
    }

    /** A named volume's directory: its record and its data. */
    public Path volumeDir(String name) {
        return volumesDir().resolve(name);
    }

    /** A named volume's record: name, labels, creation time. */
    public Path volumeRecord(String name) {
        return volumeDir(name).resolve("volume.json");
    }

    /** A named (persistent) volume's data, what a container mounts: kept until the user removes the volume. */
    public Path persistentVolume(String name) {
        return volumeDir(name).resolve("_data");
    }

    /** host-local's IP reservations for the CNI networks the daemon creates (a reboot ends every lease). */
    public Path networkLeasesDir() {
        return runDir.resolve("cni-leases");
    }

    public Path guestArtifactsDir() {
        return stateDir.resolve("guest");
    }

    /**
     * The VM launcher's copy of the guest's software image, the one file every guest's NVDIMM maps (QEMU's user
     * may write it: the launcher checks it unchanged before each guest, see the launcher's SoftwareImage).
     */
    public Path vmSoftwareImage() {
        return stateDir.resolve("vm-software").resolve("software.erofs");
    }

    /** The process launcher's native helper ({@code vessel-launch}), installed here from its jar. */
    public Path launchHelper() {
        return stateDir.resolve("bin").resolve("vessel-launch");
    }

    /**
     * Seccomp programs compiled ahead of time, read by linux/seccomp before it compiles one: a guest
     * image ships its default program here, compiling it costs a guest that runs one task per boot.
     */
    public Path seccompProgramsDir() {
        return stateDir.resolve("seccomp");
    }

    /** The network/cni isolator's state: each container's netns file and CNI results. */
    public Path cniStateDir() {
        return runDir.resolve("cni");
    }

    /** The vm/network isolator's state: the taps it made for each container. */
    public Path vmNetworkStateDir() {
        return runDir.resolve("vm-network");
    }

    /** The vm/network isolator's checkpoint of the taps it made for one container. */
    public Path vmNetworkCheckpoint(String containerId) {
        return vmNetworkStateDir().resolve(containerId + CHECKPOINT_SUFFIX);
    }

    /** The containers that have a vm/network checkpoint, by id; none when the directory is missing. */
    public List<String> vmNetworkContainers() throws IOException {
        return checkpointIds(vmNetworkStateDir());
    }

    /** The names of the {@code <id>.ckpt} files in {@code dir}, without the suffix. */
    private static List<String> checkpointIds(Path dir) throws IOException {
        List<String> ids = new ArrayList<>();
        for (Path file : DirectoryEntries.matching(dir, "*" + CHECKPOINT_SUFFIX)) {
            String name = file.getFileName().toString();
            ids.add(name.substring(0, name.length() - CHECKPOINT_SUFFIX.length()));
        }
        return ids;
    }

    /** The GPU allocator's checkpoints: one per container holding GPUs. */
    public Path gpuAllocationsDir() {
        return runDir.resolve("gpus");
    }

    /** The GPUs one container holds; its id names it. */
    public Path gpuAllocation(String containerId) {
        return gpuAllocationsDir().resolve(containerId + CHECKPOINT_SUFFIX);
    }

    /** The containers that have a GPU allocation checkpoint, by id; none when the directory is missing. */
    public List<String> gpuAllocationHolders() throws IOException {
        return checkpointIds(gpuAllocationsDir());
    }

    /** The daemon's API socket unless its configuration names another. */
    public Path defaultDaemonSocket() {
        return runDir.resolve("vessel.sock");
    }

    /** The lock that keeps a second daemon off this state dir; it holds the holder's pid. */
    public Path stateLock() {
        return stateDir.resolve("vesseld.lock");
    }

    /**
     * A fresh name for the throwaway overlay mount that tells whether the run dir's filesystem takes
     * overlay upper dirs; its user removes it at once.
     */
    public Path overlayProbeDir() {
        return runDir.resolve(".overlay-probe-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    }

    /** The kernel's boot id of the boot the run dir's records were written in. */
    public Path bootStamp() {
        return runDir.resolve("boot_id");
    }

    /** Directory holding the top-level containers. */
    public Path containersDir() {
        return runDir.resolve(CONTAINERS);
    }

    /** Directory holding the containers nested in the container whose directory is given. */
    public Path nestedContainersDir(Path containerDir) {
        return containerDir.resolve(CONTAINERS);
    }

    /**
     * Directory of a container given its lineage: the ids from the top-level container down to
     * this one ({@code [parent, child]} for a nested container). Ids are validated before they
     * reach here, so they cannot contain '/' or be '..'.
     */
    public Path containerDir(List<String> lineage) {
        Path dir = containersDir();
        for (int i = 0; i < lineage.size(); i++) {
            dir = (i == 0 ? dir : nestedContainersDir(dir)).resolve(lineage.get(i));
        }
        return dir;
    }

    public Path containerRecord(Path containerDir) {
        return containerDir.resolve("container.ckpt");
    }

    /** The node's record of the container's name; the containerizer never reads it, and removes it with the container. */
    public Path nameRecord(Path containerDir) {
        return containerDir.resolve("name");
    }

    public Path launcherCheckpoint(Path containerDir) {
        return containerDir.resolve("launcher.ckpt");
    }

    public Path isolatorCheckpoint(Path containerDir, String isolator) {
        return isolatorCheckpointsDir(containerDir).resolve(isolator + CHECKPOINT_SUFFIX);
    }

    public Path isolatorCheckpointsDir(Path containerDir) {
        return containerDir.resolve("isolators");
    }

    public Path sandboxDir(Path containerDir) {
        return containerDir.resolve("sandbox");
    }

    /**
     * The task's exit status, written once by its monitor. This and the three logs below reach the
     * launch helper in its plan; it derives only their neighbours ({@code exit.tmp}, {@code *.log.1}).
     */
    public Path exitFile(Path containerDir) {
        return containerDir.resolve("exit");
    }

    /**
     * What one run of a container leaves that the next run of it (a start of the ended container) must not
     * find: its exit file and the launcher's and isolators' checkpoints. Its logs stay, and the next run
     * appends to them.
     */
    public List<Path> runRecords(Path containerDir) {
        Path exit = exitFile(containerDir);
        return List.of(exit, exit.resolveSibling(exit.getFileName() + ".tmp"), launcherCheckpoint(containerDir),
                isolatorCheckpointsDir(containerDir), execsDir(containerDir));
    }

    /** The processes exec'd into the container's current run, one directory each. */
    public Path execsDir(Path containerDir) {
        return containerDir.resolve("execs");
    }

    /**
     * One exec's directory: its record, and what its launcher writes (the exec's exit status, logs and
     * monitor log, named as a task's are in a container directory). Exec ids are made by the
     * containerizer (hex digits), never a client's.
     */
    public Path execDir(Path containerDir, String execId) {
        return execsDir(containerDir).resolve(execId);
    }

    /** The containerizer's record of one exec. */
    public Path execRecord(Path execDir) {
        return execDir.resolve("exec.ckpt");
    }

    /** The ids of the execs with a directory in the container's; none when it has none. */
    public List<String> execIds(Path containerDir) throws IOException {
        List<String> ids = new ArrayList<>();
        for (Path dir : DirectoryEntries.matching(execsDir(containerDir), "*")) {
            if (Files.isDirectory(dir)) {
                ids.add(dir.getFileName().toString());
            }
        }
        ids.sort(Comparator.naturalOrder());
        return ids;
    }

    public Path stdoutLog(Path containerDir) {
        return containerDir.resolve("stdout.log");
    }

    public Path stderrLog(Path containerDir) {
        return containerDir.resolve("stderr.log");
    }

    public Path monitorLog(Path containerDir) {
        return containerDir.resolve("monitor.log");
    }

    /**
     * The host end of a VM task's agent channel: {@code agent.sock} in its container directory, or,
     * when that path is too long for a unix socket (deep nesting, long ids), a file under the run dir
     * named after a hash of the container directory.
     */
    public Path agentSocket(Path containerDir) {
        return socket(containerDir.resolve("agent.sock"), runDir.resolve("vm-sockets"), containerDir, ".sock",
                MAX_SOCKET_PATH_BYTES);
    }

    /**
     * Where a guest template's QEMU sends its state while the template is saved: {@code migrate.sock} in the
     * template's directory, or under the run dir (as {@link #agentSocket}) when that path is too long (the JDK's
     * limit: the daemon listens on it).
     */
    public Path vmTemplateMigrationSocket(Path templateDir) {
        Path inside = templateDir.resolve("migrate.sock");
        return socket(inside, runDir.resolve("vm-sockets"), inside, ".sock", MAX_JDK_SOCKET_PATH_BYTES);
    }

    /**
     * The directory of a VM task's rootfs file server ({@code vm.keep_rootfs_owners}): its log, its namespace's
     * identity and the name of its socket.
     */
    public Path rootfsServerDir(Path containerDir) {
        return containerDir.resolve("vm-rootfs-server");
    }

    /**
     * Where a VM task's rootfs file server listens for QEMU: {@code virtiofsd.sock} in its directory, or, when
     * that path is too long for a unix socket, a file under the run dir named after a hash of the container
     * directory (beside the agent sockets of such tasks).
     */
    public Path rootfsServerSocket(Path containerDir) {
        // ".fs": a name no longer than the agent socket's beside it, whose path fits
        return socket(rootfsServerDir(containerDir).resolve("virtiofsd.sock"), runDir.resolve("vm-sockets"),
                containerDir, ".fs", MAX_SOCKET_PATH_BYTES);
    }

    /**
     * Where the monitor of the task (or exec) whose directory is {@code dir} serves its stdio while it runs:
     * {@code attach.sock} in that directory, or, when that path is too long for a unix socket, a file under
     * the run dir named after a hash of the directory (see {@link #attachSockets()}). The JDK's limit: the daemon
     * connects to it (a 107-byte one, which the monitor could serve, no daemon could reach).
     */
    public Path attachSocket(Path dir) {
        return socket(dir.resolve("attach.sock"), attachSocketsDir(), dir, ".sock", MAX_JDK_SOCKET_PATH_BYTES);
    }

    /**
     * {@code inside} when its path fits in {@code maxBytes}, else a socket in {@code hashedDir} named after a hash of
     * {@code key}; refused, naming the run dir, when even that does not fit (a run dir that long leaves deep
     * directories' sockets nowhere to go).
     */
    private Path socket(Path inside, Path hashedDir, Path key, String suffix, int maxBytes) {
        if (inside.toString().getBytes(StandardCharsets.UTF_8).length <= maxBytes) {
            return inside;
        }
        Path hashed = hashedDir.resolve(ShortNames.hash(key.toString(), HASHED_SOCKET_NAME_CHARS) + suffix);
        if (hashed.toString().getBytes(StandardCharsets.UTF_8).length > maxBytes) {
            // the node's setting, not the request's: a precondition the operator fixes
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "run_dir", "the run dir " + runDir
                    + " is too long for the socket of " + inside.getParent() + ": under it too, at " + hashed
                    + ", the path is over the " + maxBytes + " bytes such a socket's may have; use a shorter run dir");
        }
        return hashed;
    }

    /** The attach sockets of directories too deep for their own. */
    public Path attachSocketsDir() {
        return runDir.resolve("io");
    }

    /** The sockets in {@link #attachSocketsDir()}; none when it is missing. */
    public List<Path> attachSockets() throws IOException {
        return DirectoryEntries.matching(attachSocketsDir(), "*.sock");
    }

    /** Where the VM launcher keeps its guest templates and their emulator. */
    public Path vmTemplatesDir() {
        return stateDir.resolve("vm-templates");
    }

    /** The emulator of guest templates' domains: a path that stays the same, since libvirt probes each emulator. */
    public Path vmTemplateWrapper() {
        return vmTemplatesDir().resolve("qemu");
    }

    /** The directory of the guest template named {@code name}. */
    public Path vmTemplateDir(String name) {
        return vmTemplatesDir().resolve(name);
    }

    /** The guest templates' directories found on disk; none when there is none. */
    public List<Path> vmTemplateDirs() throws IOException {
        return DirectoryEntries.matching(vmTemplatesDir(), "vessel-template-*");
    }

    /** Where the VM launcher keeps the guests it boots ahead of demand, one directory each. */
    public Path vmPoolDir() {
        return runDir.resolve("vm-pool");
    }

    /** The directory of the warm guest whose domain is {@code guestName}. */
    public Path warmGuestDir(String guestName) {
        return vmPoolDir().resolve(guestName);
    }

    /** The warm guests' directories found on disk; none when the pool's directory is missing. */
    public List<Path> warmGuestDirs() throws IOException {
        return DirectoryEntries.matching(vmPoolDir(), "*");
    }

    /**
     * The directory a warm guest mounts as its root share. Static, as is the next: they depend on the
     * guest's directory alone, which a VM task knows from its checkpoint.
     */
    public static Path warmGuestShare(Path warmGuestDir) {
        return warmGuestDir.resolve("share");
    }

    /** Where a task's rootfs is bound in a warm guest's share: {@link #WARM_GUEST_ROOTFS_IN_SHARE} below it. */
    public static Path warmGuestRootfs(Path warmGuestDir) {
        return warmGuestShare(warmGuestDir).resolve(WARM_GUEST_ROOTFS_IN_SHARE);
    }

    /** A VM task's serial console, kept for diagnostics (the tail of it explains a failed boot). */
    public Path consoleLog(Path containerDir) {
        return containerDir.resolve("console.log");
    }


    // ---------------------------------------------------------------------------------------------
    // readers of the containers tree

    /**
     * The lineage of every container directory found under {@link #containersDir()}, depth first
     * with parents before their nested containers and siblings in name order. Entries that are not
     * directories are not containers and are skipped; no containers directory means no containers.
     */
    public List<List<String>> containerLineages() {
        List<List<String>> found = new ArrayList<>();
        collectLineages(containersDir(), List.of(), found);
        return found;
    }

    private void collectLineages(Path dir, List<String> parentLineage, List<List<String>> found) {
        List<Path> entries;
        try {
            entries = DirectoryEntries.matching(dir, "*");
        } catch (IOException e) {
            throw VesselException.internal(dir.toString(), "cannot read container directories: " + e.getMessage(), e);
        }
        entries.sort(Comparator.naturalOrder());
        for (Path entry : entries) {
            if (!Files.isDirectory(entry)) {
                continue;
            }
            List<String> lineage = new ArrayList<>(parentLineage);
            lineage.add(entry.getFileName().toString());
            found.add(List.copyOf(lineage));
            collectLineages(nestedContainersDir(entry), lineage, found);
        }
    }
}
