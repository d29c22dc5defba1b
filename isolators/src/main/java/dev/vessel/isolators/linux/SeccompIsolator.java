package dev.vessel.isolators.linux;

import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Seccomp;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.linux.Capability;
import java.lang.System.Logger.Level;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The system calls a container's task may make: the config's seccomp profile, or the default one
 * (Docker's and podman's policy: everything else fails with EPERM), or none when the config says
 * {@code unconfined}. The profile's capability-conditional entries follow the capabilities
 * {@code linux/capabilities} gave the container. The launch helper installs the compiled filter just
 * before the task's execve; the compile is cached ({@link SeccompFilters}).
 */
public final class SeccompIsolator implements Isolator {
    private static final System.Logger LOG = System.getLogger(SeccompIsolator.class.getName());

    private final SeccompFilters filters;

    public SeccompIsolator(SeccompFilters filters) {
        this.filters = filters;
    }

    @Override
    public String name() {
        return "linux/seccomp";
    }

    @Override
    public Set<Key<?>> requires() {
        return Set.of(CapabilityKeys.CAPABILITIES);
    }

    /**
     * Compiles the default program for a default container in the background at start-up: the first
     * compile in a fresh JVM loads Jackson, protobuf and the FFM linker and took ≈1 s on a loaded
     * build machine, which the node's first launch would otherwise wait for.
     */
    @Override
    public void recover(List<ContainerContext> containers) {
        Set<String> defaults = LinuxCapabilitiesIsolator.capabilities(Capabilities.getDefaultInstance()).stream()
                .map(Capability::name).collect(Collectors.toSet());
        Thread.ofVirtual().name("seccomp-warm-up").start(() -> {
            try {
                filters.defaultFilter(defaults);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "compiling the default seccomp profile failed: {0}", e.getMessage());
            }
        });
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        Seccomp config = context.config().getSeccomp();
        if (config.getUnconfined()) {
            return LaunchInfo.getDefaultInstance();
        }
        Set<String> capabilities = context.get(CapabilityKeys.CAPABILITIES).names();
        return LaunchInfo.newBuilder().setSeccomp(config.getProfileJson().isEmpty() ? filters.defaultFilter(capabilities)
                : filters.filter(config.getProfileJson(), capabilities)).build();
    }
}
