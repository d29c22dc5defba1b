package dev.vessel.isolators.linux;

import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Seccomp;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import java.util.Set;

/**
 * The system calls a container's task may make: the config's seccomp profile, or the default one
 * (Docker's and podman's policy: everything else fails with EPERM), or none when the config says
 * {@code unconfined}. The profile's capability-conditional entries follow the capabilities
 * {@code linux/capabilities} gave the container. The launch helper installs the compiled filter just
 * before the task's execve; the compile is cached ({@link SeccompFilters}).
 */
public final class SeccompIsolator implements Isolator {
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

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        Seccomp config = context.config().getSeccomp();
        if (config.getUnconfined()) {
            return LaunchInfo.getDefaultInstance();
        }
        String profile = config.getProfileJson().isEmpty() ? SeccompFilters.DEFAULT_PROFILE_JSON : config.getProfileJson();
        Set<String> capabilities = context.get(CapabilityKeys.CAPABILITIES).names();
        return LaunchInfo.newBuilder().setSeccomp(filters.filter(profile, capabilities)).build();
    }
}
