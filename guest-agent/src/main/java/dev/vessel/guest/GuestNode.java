package dev.vessel.guest;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import dev.vessel.isolators.IsolatorCatalog;
import dev.vessel.isolators.IsolatorContext;
import dev.vessel.launcher.process.ProcessLauncher;
import dev.vessel.linux.CgroupHierarchies;
import java.util.EnumSet;
import java.util.List;

/**
 * The node inside the guest: the same containerizer, process launcher and launch helper as a host's
 * process containers, with the catalog's GUEST isolators, those that make sense in a guest (a cgroup
 * controller the guest's kernel lacks is left out). Nothing host-only: no
 * provisioner (the rootfs comes through the share), no CNI (the VM is the network boundary), no
 * Docker volume plugins (the host resolves volumes; the guest only binds what it was shared), no
 * disk quota.
 */
final class GuestNode {
    /** The guest's own layout, as on a host. */
    static final RuntimePaths PATHS = RuntimePaths.defaults();
    /** The cgroup under which the guest's containers go. */
    static final String CGROUP_PARENT = "vessel";

    private GuestNode() {
    }

    /**
     * The guest's process launcher, with the launch helper the image holds at the paths' usual place. The
     * image takes it from the same launcher jar the agent runs with, so it is used as it is: comparing it
     * with the jar's copy (ProcessLauncher.withBundledHelper) would inflate and compare ~800 KB in an
     * interpreted JVM on every start. It starts no helper behind each launch (that spawn, tens of ms under
     * TCG, would run beside the task on the one vCPU): a warm-up leaves one for the guest's task instead.
     */
    static ProcessLauncher launcher(RuntimePaths paths) {
        return new ProcessLauncher(paths, paths.launchHelper());
    }

    /** A recovered containerizer with the given process launcher (training gives one that starts nothing). */
    static UnifiedContainerizer containerizer(RuntimePaths paths, Launcher launcher, CgroupHierarchies hierarchies,
            String cgroupParent) {
        UnifiedContainerizer containerizer = UnifiedContainerizer
                .builder(paths, new ConfigValidator(NodeCapacity.detect()))
                .launcher(launcher)
                .isolators(isolators(paths, hierarchies, cgroupParent))
                .prepareInOrder() // one vCPU, and the guest's isolators wait on nothing outside it
                .recordsInMemory() // the agent's end powers the guest off: nothing is ever recovered
                .build();
        containerizer.recover();
        return containerizer;
    }

    /** The catalog's GUEST chain: no CNI, no Docker volume plugins, no VMs in the context. */
    static List<Isolator> isolators(RuntimePaths paths, CgroupHierarchies hierarchies, String cgroupParent) {
        return IsolatorCatalog.build(IsolatorContext.of(paths, hierarchies, cgroupParent),
                EnumSet.of(IsolatorCatalog.Placement.GUEST));
    }
}
