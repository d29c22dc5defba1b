package dev.vessel.guest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.HealthCheck;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.RestartPolicy;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What the guest's containerizer is given of a VM task's config: what the host does is taken out. */
class GuestConfigTest {
    private static ContainerConfig.Builder vmTask() {
        return ContainerConfig.newBuilder().setId("web").setIsolation(Isolation.VM).addCommand("/bin/sh")
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("bridge0"))
                .setRestart(RestartPolicy.newBuilder().setPolicy("always"))
                .setHealthCheck(HealthCheck.newBuilder().addTest("CMD").addTest("/bin/true"))
                .putSysctls("net.ipv4.ip_forward", "1").putSysctls("kernel.shmmni", "1234")
                .setResources(Resources.newBuilder().setCpus(1).setCpusetCpus("6-7").setCpusetMems("1")
                        .putHugepageLimits("2MB", 0));
    }

    @Test
    void aTasksChecksRestartsNetworkParametersAndCpusetStayTheHostsOrTheAgents() {
        ContainerConfig inGuest = GuestTasks.inGuest("web", vmTask().build(), Path.of("/shares/web"), List.of());
        assertEquals(Isolation.PROCESS, inGuest.getIsolation());
        assertFalse(inGuest.hasHealthCheck(), "the host execs its checks into the guest");
        assertFalse(inGuest.hasRestart(), "the host restarts it in a new VM");
        assertEquals(Map.of("kernel.shmmni", "1234"), inGuest.getSysctlsMap(), "the agent set the network's");
        assertEquals(List.of("host"), inGuest.getNetworksList().stream().map(NetworkAttachment::getNetwork).toList());
        // the host pins the VM to its CPUs 6-7: the guest's own are numbered from 0
        assertEquals(Resources.newBuilder().setCpus(1).build(), inGuest.getResources());
    }

    @Test
    void aPodsTaskToo() {
        ContainerConfig pod = GuestTasks.inGuestPod("pod", vmTask().clearCommand().setPod(true).build());
        assertFalse(pod.hasHealthCheck());
        assertEquals(Map.of("kernel.shmmni", "1234"), pod.getSysctlsMap());
        assertEquals(Resources.newBuilder().setCpus(1).build(), pod.getResources());
    }
}
