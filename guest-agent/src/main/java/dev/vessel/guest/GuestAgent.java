package dev.vessel.guest;

import dev.vessel.core.seccomp.SeccompProfile;
import dev.vessel.isolators.linux.SeccompFilters;
import dev.vessel.launcher.process.ProcessLauncher;
import dev.vessel.linux.Capability;
import dev.vessel.linux.CgroupHierarchies;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Collectors;

/**
 * The guest agent, started by the guest's init: finds the agent's virtio-serial port, says hello to
 * the host and serves its requests, running each task as a process container inside the guest.
 * With {@code --train} it instead runs its start path against itself in memory and exits, so that an
 * image build can record an AOT cache of exactly the classes a real start loads; with
 * {@code --write-seccomp-programs} it writes the default seccomp program into the image.
 *
 * <p>Start-up time is the point here (guests may run under TCG, where every class costs): the node
 * is built in the background while the hello goes out, and nothing but blocking streams and virtual
 * threads is used.
 */
public final class GuestAgent {
    /** How long to wait for the virtio console driver to bring the agent port up. */
    private static final Duration PORT_PATIENCE = Duration.ofSeconds(10);

    private GuestAgent() {
    }

    public static void main(String[] args) throws Exception {
        long startMillis = Uptime.millis();
        if (args.length == 1 && args[0].equals("--train")) {
            Training.run(startMillis);
            return;
        }
        if (args.length == 1 && args[0].equals("--write-seccomp-programs")) {
            // the image build: the default seccomp program for a default task, so no guest compiles it
            System.out.println(SeccompFilters.writeDefault(GuestNode.PATHS.seccompProgramsDir(),
                    Capability.CONTAINER_DEFAULT.stream().map(Capability::name).collect(Collectors.toSet()),
                    SeccompProfile.Host.current()));
            return;
        }
        if (args.length != 0) {
            System.err.println("usage: GuestAgent [--train | --write-seccomp-programs]   (unexpected arguments "
                    + List.of(args) + ")");
            System.exit(2);
        }
        HostLink link = new HostLink();
        CompletableFuture<GuestTasks> node = new CompletableFuture<>();
        Thread.ofVirtual().name("node").start(() -> {
            try {
                ProcessLauncher launcher = GuestNode.launcher(GuestNode.PATHS);
                node.complete(new GuestTasks(GuestNode.containerizer(GuestNode.PATHS, launcher, CgroupHierarchies.detect(),
                        GuestNode.CGROUP_PARENT), launcher, GuestNode.PATHS,
                        new TaggedShares(new GuestPaths(GuestNode.PATHS).tagsDir()), link, launcher::startSpareHelper));
            } catch (Throwable t) {
                System.err.println("vessel guest agent: the containerizer did not start: " + t);
                node.completeExceptionally(t); // requests other than ping are answered with this error
            }
        });
        VirtioPort port = VirtioPort.find(VirtioPort.SYSFS_PORTS, VirtioPort.PORT_NAME, PORT_PATIENCE);
        new Agent(startMillis, new Requests(node), link).serve(port);
        System.err.println("vessel guest agent: the host refused this agent's protocol version");
        System.exit(3);
    }
}
