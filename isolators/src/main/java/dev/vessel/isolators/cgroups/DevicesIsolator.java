package dev.vessel.isolators.cgroups;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.linux.CgroupDeviceProgram;
import dev.vessel.linux.ErrnoException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Deny every device, then allow the standard set a container's minimal /dev holds (the same list as
 * runc's defaults): opening anything else fails with EPERM, even as root. On v1 through the devices
 * controller; on v2, which has no devices controller, through a BPF program attached to the
 * container's cgroup. Devices another isolator hands the container (its GPUs) are allowed besides
 * ({@link AllowedDevices}).
 */
public final class DevicesIsolator implements Isolator {
    private static final String CONTROLLER = "devices";

    /** type major:minor access, as devices.allow takes them. */
    static final List<String> ALLOWED = List.of(
            "c 1:3 rwm",    // /dev/null
            "c 1:5 rwm",    // /dev/zero
            "c 1:7 rwm",    // /dev/full
            "c 1:8 rwm",    // /dev/random
            "c 1:9 rwm",    // /dev/urandom
            "c 5:0 rwm",    // /dev/tty
            "c 5:1 rwm",    // /dev/console
            "c 5:2 rwm",    // /dev/ptmx
            "c 136:* rwm",  // /dev/pts/*
            // mknod of any node (opening one is still denied); without CAP_MKNOD, a container's default,
            // mknod fails anyway
            "c *:* m",
            "b *:* m");

    /** The devices every container may use, whatever its config (an OCI bundle may list them again). */
    public static final List<CgroupDeviceProgram.Rule> ALLOWED_RULES =
            ALLOWED.stream().map(CgroupDeviceProgram.Rule::parse).toList();

    private final boolean v1;
    /** Whether an isolator of the chain grants further devices ({@link AllowedDevices}). */
    private final boolean grantedDevices;

    public DevicesIsolator(CgroupHierarchies hierarchies) {
        this(hierarchies, false);
    }

    /** @param grantedDevices the chain has an isolator providing {@link AllowedDevices} (gpu/nvidia) */
    public DevicesIsolator(CgroupHierarchies hierarchies, boolean grantedDevices) {
        this.v1 = hierarchies.forController(CONTROLLER).isPresent();
        this.grantedDevices = grantedDevices;
        unavailable(hierarchies).ifPresent(why -> {
            throw new VesselException(ErrorCode.UNAVAILABLE, "isolation", why);
        });
    }

    /**
     * Why containers' devices cannot be confined with these hierarchies; empty when they can: through
     * the v1 devices controller, or a BPF program on the container's v2 cgroup, which it gets only when
     * the v2 hierarchy holds one of the controllers {@link CgroupsIsolator} places containers in (a
     * hybrid host's cgroup2 mount with only hugetlb does not), and only where the kernel loads the
     * program (tried once, here).
     */
    public static Optional<String> unavailable(CgroupHierarchies hierarchies) {
        if (hierarchies.forController(CONTROLLER).isPresent()) {
            return Optional.empty();
        }
        Optional<CgroupHierarchy> unified = hierarchies.unified();
        if (unified.isEmpty()) {
            return Optional.of("no v1 devices controller and no cgroup v2 hierarchy is mounted");
        }
        boolean containersInV2 = CgroupsIsolator.CONTROLLERS.stream()
                .anyMatch(c -> hierarchies.forController(c).filter(CgroupHierarchy::unified).isPresent());
        if (!containersInV2) {
            return Optional.of("no v1 devices controller, and the cgroup v2 hierarchy at " + unified.get().mountPoint()
                    + " holds none of the controllers containers are placed with ("
                    + String.join(", ", CgroupsIsolator.CONTROLLERS.stream().sorted().toList())
                    + "), so a container gets no v2 cgroup for the device program");
        }
        try {
            CgroupDeviceProgram.checkLoads(ALLOWED_RULES);
            return Optional.empty();
        } catch (ErrnoException e) {
            return Optional.of("no v1 devices controller, and this kernel does not load the cgroup v2 device program: "
                    + e.getMessage());
        }
    }

    /** The v2 program's rules: the standard set and the devices granted besides, in one program. */
    static List<CgroupDeviceProgram.Rule> programRules(List<String> granted) {
        return Stream.concat(ALLOWED_RULES.stream(), granted.stream().map(CgroupDeviceProgram.Rule::parse)).toList();
    }

    @Override
    public String name() {
        return "cgroups/devices";
    }

    @Override
    public Set<Key<?>> requires() {
        return grantedDevices ? Set.of(CgroupKeys.CGROUPS, AllowedDevices.KEY) : Set.of(CgroupKeys.CGROUPS);
    }

    @Override
    public LaunchInfo prepare(PrepareContext context) throws ErrnoException {
        ContainerCgroups cgroups = context.get(CgroupKeys.CGROUPS);
        List<String> granted = grantedDevices ? context.get(AllowedDevices.KEY).rules() : List.of();
        if (v1) {
            cgroups.of(CONTROLLER).ifPresent(dir -> {
                CgroupFiles.write(dir, "devices.deny", "a");
                ALLOWED.forEach(rule -> CgroupFiles.write(dir, "devices.allow", rule));
                granted.forEach(rule -> CgroupFiles.write(dir, "devices.allow", rule));
            });
        } else {
            Path dir = cgroups.unified().orElseThrow(() -> new VesselException(ErrorCode.UNAVAILABLE,
                    context.containerId(), "no cgroup v2 directory to attach the device program to"));
            CgroupDeviceProgram.attach(dir, programRules(granted));
        }
        return LaunchInfo.getDefaultInstance();
    }
}
