package dev.vessel.isolators.cgroups;

import dev.vessel.core.device.ContainerDevices;
import dev.vessel.core.device.HostDevice;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Device;
import dev.vessel.core.model.LaunchInfo;
import dev.vessel.core.spi.Isolator;
import dev.vessel.core.spi.Key;
import dev.vessel.core.spi.PrepareContext;
import dev.vessel.linux.CgroupDeviceProgram;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.linux.CgroupHierarchy;
import dev.vessel.linux.ErrnoException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Deny every device, then allow the standard set a container's minimal /dev holds (the same list as
 * runc's defaults): opening anything else fails with EPERM, even as root. On v1 through the devices
 * controller; on v2, which has no devices controller, through a BPF program attached to the
 * container's cgroup. Devices another isolator hands the container (its GPUs) are allowed besides
 * ({@link AllowedDevices}), and so is each of the config's host {@code devices} (the number its host node has
 * now, with the entry's permissions), which filesystem/linux binds into the container. A device granted so
 * takes exactly its own permissions: the standard rule for that same number gives way to it
 * ({@code --device /dev/zero:/dev/z:r} makes the container's /dev/zero read-only too, as the kernel knows a
 * device by its number only).
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

    /** devices.allow's rules: the standard set, less the rules a granted device replaces, then the granted. */
    static List<String> allowed(List<String> granted) {
        List<CgroupDeviceProgram.Rule> replacing = granted.stream().map(CgroupDeviceProgram.Rule::parse).toList();
        return Stream.concat(ALLOWED.stream().filter(standard -> replacing.stream()
                .noneMatch(g -> sameDevice(CgroupDeviceProgram.Rule.parse(standard), g))), granted.stream()).toList();
    }

    /** Whether both rules name exactly one and the same device (no wildcard). */
    private static boolean sameDevice(CgroupDeviceProgram.Rule a, CgroupDeviceProgram.Rule b) {
        return a.type() == b.type() && a.type() != 'a' && a.major() >= 0 && a.minor() >= 0 && a.major() == b.major()
                && a.minor() == b.minor();
    }

    /** The v2 program's rules: those of {@link #allowed}, in one program. */
    static List<CgroupDeviceProgram.Rule> programRules(List<String> granted) {
        return allowed(granted).stream().map(CgroupDeviceProgram.Rule::parse).toList();
    }

    /** The config's host devices' rules; a node gone since the config was checked fails the launch, naming it. */
    static List<String> configured(List<Device> devices) throws IOException {
        List<String> rules = new ArrayList<>();
        for (int i = 0; i < devices.size(); i++) {
            Device d = devices.get(i);
            String field = "devices[" + i + "].host_path";
            HostDevice node = HostDevice.at(Path.of(d.getHostPath())).orElseThrow(() -> VesselException.invalid(
                    field, Quoted.of(d.getHostPath()) + " is no longer a device node"));
            rules.add(node.allowRule(ContainerDevices.permissions(d)));
        }
        return rules;
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
    public LaunchInfo prepare(PrepareContext context) throws ErrnoException, IOException {
        ContainerCgroups cgroups = context.get(CgroupKeys.CGROUPS);
        List<String> granted = new ArrayList<>(grantedDevices ? context.get(AllowedDevices.KEY).rules() : List.of());
        granted.addAll(configured(context.config().getDevicesList()));
        if (v1) {
            cgroups.of(CONTROLLER).ifPresent(dir -> {
                CgroupFiles.write(dir, "devices.deny", "a");
                allowed(granted).forEach(rule -> CgroupFiles.write(dir, "devices.allow", rule));
            });
        } else {
            Path dir = cgroups.unified().orElseThrow(() -> new VesselException(ErrorCode.UNAVAILABLE,
                    context.containerId(), "no cgroup v2 directory to attach the device program to"));
            CgroupDeviceProgram.attach(dir, programRules(granted));
        }
        return LaunchInfo.getDefaultInstance();
    }
}
