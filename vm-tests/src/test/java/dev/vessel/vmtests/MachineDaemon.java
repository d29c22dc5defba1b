package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.linux.PosixAcls;
import dev.vessel.node.DaemonProcess;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A real vesseld for long-lived VMs, driven through the CLI as a user drives it: on a fresh directory
 * under /var/tmp that QEMU's user may search, with the guest artifacts the images module built. Closing
 * removes every VM, stops the daemon and removes its cgroups and the directory.
 */
final class MachineDaemon implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The daemon's directory, which a test may also use for its own files. */
    final Path dir;
    private final String cgroupParent;
    private DaemonProcess daemon;

    private MachineDaemon(Path dir, String cgroupParent) {
        this.dir = dir;
        this.cgroupParent = cgroupParent;
    }

    /** A daemon on a new directory named {@code prefix} and a random suffix, its cgroups under {@code prefix}<pid>. */
    static MachineDaemon start(String prefix) throws Exception {
        VmNode.requireRootAndLibvirt();
        MachineDaemon machines = new MachineDaemon(Files.createTempDirectory(Path.of("/var/tmp"), prefix),
                prefix + ProcessHandle.current().pid());
        try {
            QemuUser.ofHost().allow(machines.dir, PosixAcls.EXECUTE); // the operator's part
            machines.daemon = machines.startDaemon();
            return machines;
        } catch (Throwable e) {
            machines.close();
            throw e;
        }
    }

    private DaemonProcess startDaemon() throws Exception {
        return DaemonProcess.start(dir.resolve("node"), cgroupParent, "--guest-artifacts",
                VmNode.artifactsDir().toAbsolutePath().toString());
    }

    DaemonProcess process() {
        return daemon;
    }

    /** SIGKILLs the daemon and starts a new one on the same directories. */
    void killAndRestart() throws Exception {
        daemon.kill9();
        daemon = startDaemon();
    }

    VmNode.Cli cli(String... args) throws Exception {
        return VmNode.cli(daemon.socket, dir, args);
    }

    /** {@code vessel vm inspect}'s JSON of a VM that exists. */
    JsonNode vm(String name) throws Exception {
        VmNode.Cli inspect = cli("vm", "inspect", name);
        assertEquals(0, inspect.code(), inspect::toString);
        return JSON.readTree(inspect.out());
    }

    @Override
    public void close() throws Exception {
        if (daemon != null && daemon.alive()) {
            for (JsonNode vm : JSON.readTree(cli("vm", "ls", "--json").out()).path("vms")) {
                cli("vm", "rm", "-f", vm.path("name").asText());
            }
            daemon.stop();
        }
        DaemonProcess.removeCgroupParent(cgroupParent);
        VmNode.run("rm", "-rf", dir.toString());
    }
}
