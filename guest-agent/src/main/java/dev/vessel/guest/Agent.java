package dev.vessel.guest;

import dev.vessel.core.agent.Hello;
import dev.vessel.core.agent.ProtocolVersion;
import dev.vessel.core.gpu.GpuDiscovery;
import java.io.IOException;

/** Serves the host connection after connection, for as long as the guest runs. */
final class Agent {
    private final Hello.Builder hello;
    private final Requests requests;
    private final HostLink link;

    /**
     * {@code startMillis}: the guest's uptime when the agent's main() began. The hello also lists the
     * guest's PCI devices (GPUs passed through among them), read once here.
     */
    Agent(long startMillis, Requests requests, HostLink link) {
        this.hello = Hello.newBuilder().setVersion(ProtocolVersion.V1).setAgentVersion(version())
                .setAgentStartMillis(startMillis).addAllPciDevices(GuestPciDevices.list(GpuDiscovery.host()));
        this.requests = requests;
        this.link = link;
    }

    /**
     * Runs sessions on the transport's connections until the host refuses this agent's protocol
     * (returns) or the transport fails (throws). Tasks keep running between connections.
     */
    void serve(Transport transport) throws IOException {
        while (true) {
            try (Transport.Connection connection = transport.connect()) {
                if (new AgentSession(connection, hello, requests, link).run() == AgentSession.Outcome.REFUSED) {
                    return;
                }
            }
        }
    }

    static String version() {
        String v = Agent.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev"; // no manifest version when run from classes
    }
}
