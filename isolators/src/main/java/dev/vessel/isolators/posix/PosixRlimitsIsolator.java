package dev.vessel.isolators.posix;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.model.Rlimit;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.linux.RlimitType;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The container's resource limits: the node's defaults (none unless configured; Docker's daemon, for
 * one, sets RLIMIT_NOFILE 1024/1048576), then the config's, which win for the same resource. Names are
 * passed on in their canonical form ({@code RLIMIT_NOFILE}), one entry per resource.
 */
public final class PosixRlimitsIsolator implements Isolator {
    private final Map<RlimitType, Rlimit> defaults;

    public PosixRlimitsIsolator() {
        this(List.of());
    }

    /** @param defaults applied to every container unless its config sets the same resource */
    public PosixRlimitsIsolator(List<Rlimit> defaults) {
        this.defaults = byType("rlimit_defaults", defaults);
    }

    @Override
    public String name() {
        return "posix/rlimits";
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) {
        Map<RlimitType, Rlimit> limits = new EnumMap<>(RlimitType.class);
        limits.putAll(defaults);
        limits.putAll(byType("rlimits", context.config().getRlimitsList()));
        return LaunchInfo.newBuilder().addAllRlimits(limits.values()).build();
    }

    /** Checks each limit (the validator does too: this guards configs that bypassed it); a later one wins. */
    private static Map<RlimitType, Rlimit> byType(String field, List<Rlimit> rlimits) {
        Map<RlimitType, Rlimit> out = new EnumMap<>(RlimitType.class);
        for (int i = 0; i < rlimits.size(); i++) {
            Rlimit r = rlimits.get(i);
            String at = field + "[" + i + "]";
            RlimitType type = RlimitType.parse(r.getType())
                    .orElseThrow(() -> VesselException.invalid(at + ".type", "unknown rlimit '" + r.getType() + "'"));
            if (Long.compareUnsigned(r.getSoft(), r.getHard()) > 0) {
                throw VesselException.invalid(at, "soft limit " + Long.toUnsignedString(r.getSoft())
                        + " exceeds hard limit " + Long.toUnsignedString(r.getHard()));
            }
            out.put(type, r.toBuilder().setType(type.name()).build());
        }
        return out;
    }
}
