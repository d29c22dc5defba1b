package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.vm.QemuUser;
import dev.vessel.linux.PosixAcls;
import dev.vessel.node.ApiClient;
import dev.vessel.node.DaemonProcess;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real vesseld for the tests of long-lived VMs, in a private directory QEMU's user can reach, driven
 * through the CLI as a user drives it. Closing it removes every VM it still has, stops it, and takes
 * its cgroups and its directory.
 */
final class MachineDaemon implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    final Path dir;
    private final String cgroupParent;
    private DaemonProcess daemon;

    private MachineDaemon(Path dir, String cgroupParent) {
        this.dir = dir;
        this.cgroupParent = cgroupParent;
    }

    static MachineDaemon start(String name) throws Exception {
        VmNode.requireRootAndLibvirt();
        Path dir = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-" + name + "-");
        QemuUser.ofHost().allow(dir, PosixAcls.EXECUTE);
        MachineDaemon node = new MachineDaemon(dir, "vessel-" + name + "-" + ProcessHandle.current().pid());
        node.daemon = node.startDaemon(Map.of());
        return node;
    }

    /** SIGKILLs the daemon (its VMs run on) and starts a new one on the same state. */
    void killAndRestart() throws Exception {
        daemon.kill9();
        daemon = startDaemon(Map.of());
    }

    /** Stops the daemon (its VMs run on) and starts a new one on the same state with {@code env} added. */
    void restartWith(Map<String, String> env) throws Exception {
        daemon.stop();
        daemon = startDaemon(env);
    }

    Path stateDir() {
        return daemon.stateDir();
    }

    VmNode.Cli cli(String... args) throws Exception {
        return VmNode.cli(daemon.socket, dir, args);
    }

    /** The CLI with pipes to its stdin, stdout and stderr, for an interactive command. */
    Process cliProcess(String... args) throws IOException {
        return VmNode.cliProcess(daemon.socket, args);
    }

    /** The daemon's API. */
    ApiClient api() {
        return ApiClient.unix(daemon.socket);
    }

    /** {@code vessel vm inspect NAME}, which must succeed. */
    JsonNode vm(String name) throws Exception {
        VmNode.Cli inspect = cli("vm", "inspect", "--json", name);
        assertEquals(0, inspect.code(), inspect::toString);
        return JSON.readTree(inspect.out());
    }

    /** {@code vessel vm logs} once it holds {@code text}; a boot of the cloud image takes about a minute under TCG. */
    String awaitConsole(String name, String text) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(6);
        String console = "";
        while (System.nanoTime() < deadline) {
            console = cli("vm", "logs", name).out();
            if (console.contains(text)) {
                return console;
            }
            Thread.sleep(2000);
        }
        throw new AssertionError(name + ": the console never showed '" + text + "':\n" + console);
    }

    private DaemonProcess startDaemon(Map<String, String> env) throws Exception {
        return DaemonProcess.start(dir.resolve("node"), cgroupParent, env, "--guest-artifacts",
                VmNode.artifactsDir().toAbsolutePath().toString());
    }

    @Override
    public void close() throws Exception {
        try {
            if (daemon != null && daemon.alive()) {
                for (JsonNode vm : JSON.readTree(cli("vm", "ls", "--json").out()).path("vms")) {
                    cli("vm", "rm", "-f", vm.path("name").asText());
                }
                daemon.stop();
            }
        } finally {
            DaemonProcess.removeCgroupParent(cgroupParent);
            VmNode.run("rm", "-rf", dir.toString());
        }
    }
}
