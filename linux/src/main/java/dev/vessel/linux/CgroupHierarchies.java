package dev.vessel.linux;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The cgroup hierarchies of this host (or guest), read from a mountinfo file at start-up. Works on
 * pure v1, pure v2 and hybrid hosts: a controller attached to a v1 hierarchy is used there; one only
 * in the v2 hierarchy's {@code cgroup.controllers} is used through v2.
 */
public final class CgroupHierarchies {
    private final List<CgroupHierarchy> hierarchies;

    private CgroupHierarchies(List<CgroupHierarchy> hierarchies) {
        this.hierarchies = List.copyOf(hierarchies);
    }

    public static CgroupHierarchies detect() {
        return detect(Path.of("/proc/self/mountinfo"));
    }

    /** Parses mountinfo: fields after " - " are fstype, source, super options (v1 controllers). */
    public static CgroupHierarchies detect(Path mountinfo) {
        List<CgroupHierarchy> found = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(mountinfo)) {
                String[] halves = line.split(" - ", 2);
                if (halves.length < 2) {
                    continue;
                }
                String[] pre = halves[0].split(" ");
                String[] post = halves[1].split(" ");
                Path mountPoint = Path.of(unescape(pre[4]));
                if (!pre[3].equals("/")) {
                    continue; // a bind of a sub-cgroup (as in a container): not a hierarchy root
                }
                switch (post[0]) {
                    case "cgroup" -> {
                        Set<String> controllers = new LinkedHashSet<>();
                        for (String option : post[2].split(",")) {
                            if (!option.equals("rw") && !option.equals("ro") && !option.contains("=")) {
                                controllers.add(option);
                            }
                        }
                        if (!controllers.isEmpty()) {
                            found.add(new CgroupHierarchy(1, mountPoint, Set.copyOf(controllers)));
                        }
                    }
                    case "cgroup2" -> found.add(new CgroupHierarchy(2, mountPoint, readV2Controllers(mountPoint)));
                    default -> { }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + mountinfo, e);
        }
        return new CgroupHierarchies(found);
    }

    private static Set<String> readV2Controllers(Path mountPoint) throws IOException {
        Path file = mountPoint.resolve("cgroup.controllers");
        if (!Files.exists(file)) {
            return Set.of();
        }
        String text = Files.readString(file).trim();
        return text.isEmpty() ? Set.of() : Set.of(text.split("\\s+"));
    }

    /** mountinfo escapes spaces and a few other characters as octal. */
    private static String unescape(String s) {
        return s.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n").replace("\\134", "\\");
    }

    /** The hierarchy that manages {@code controller}: v1 first (a controller bound there is not in v2). */
    public Optional<CgroupHierarchy> forController(String controller) {
        return hierarchies.stream().filter(h -> !h.unified() && h.controllers().contains(controller)).findFirst()
                .or(() -> hierarchies.stream().filter(h -> h.unified() && h.controllers().contains(controller))
                        .findFirst());
    }

    public Optional<CgroupHierarchy> unified() {
        return hierarchies.stream().filter(CgroupHierarchy::unified).findFirst();
    }

    public List<CgroupHierarchy> all() {
        return hierarchies;
    }

    /** "v1", "v2" or "hybrid", for the node's info. */
    public String mode() {
        boolean v1 = hierarchies.stream().anyMatch(h -> !h.unified());
        boolean v2 = hierarchies.stream().anyMatch(h -> h.unified() && !h.controllers().isEmpty());
        return v1 && v2 ? "hybrid" : v1 ? "v1" : "v2";
    }
}
