package dev.vessel.launcher.process;

import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Resolves a config's {@code user} ("uid[:gid]" or "name[:group]", as in an OCI image config)
 * against the container's own {@code /etc/passwd} and {@code /etc/group}, the way runc does:
 * numeric ids need no entry, names must exist, supplementary groups are the primary group plus
 * the user's memberships in /etc/group plus the config's additional gids and groups (by name, which must exist).
 */
final class UserResolver {
    /** The credentials the task runs with. */
    record ResolvedUser(int uid, int gid, List<Integer> supplementaryGids) {
    }

    private record PasswdEntry(String name, int uid, int gid) {
    }

    private record GroupEntry(String name, int gid, List<String> members) {
    }

    /** The container's {@code /etc/group}, read when first needed and once per resolve. */
    private static final class GroupFile {
        private final List<Path> roots;
        private List<GroupEntry> entries;

        GroupFile(List<Path> roots) {
            this.roots = roots;
        }

        List<GroupEntry> entries() {
            if (entries == null) {
                entries = group(roots);
            }
            return entries;
        }
    }

    private UserResolver() {
    }

    /**
     * @param roots where the container's {@code /etc} lies: its rootfs, or an overlay not mounted yet as
     *              its directories, top first (the first that has a file holds it); none: the host's
     */
    static ResolvedUser resolve(String user, List<Integer> additionalGids, List<String> additionalGroups,
            List<Path> roots) {
        Set<Integer> groups = new LinkedHashSet<>();
        GroupFile groupFile = new GroupFile(roots);
        if (user.isEmpty()) {
            groups.add(0);
            groups.addAll(additionalGids);
            groups.addAll(gidsOf(additionalGroups, groupFile));
            return new ResolvedUser(0, 0, List.copyOf(groups));
        }
        String userPart = user.contains(":") ? user.substring(0, user.indexOf(':')) : user;
        Optional<String> groupPart = user.contains(":") ? Optional.of(user.substring(user.indexOf(':') + 1))
                : Optional.empty();

        Optional<PasswdEntry> entry;
        if (isNumeric(userPart)) {
            int uid = id("user", userPart);
            entry = passwd(roots).stream().filter(p -> p.uid() == uid).findFirst();
            entry = entry.or(() -> Optional.of(new PasswdEntry("", uid, 0))); // runc: unknown uid → gid 0
        } else {
            entry = passwd(roots).stream().filter(p -> p.name().equals(userPart)).findFirst();
            if (entry.isEmpty()) {
                throw VesselException.invalid("user", "no user '" + userPart + "' in the container's /etc/passwd");
            }
        }
        int gid = entry.get().gid();
        if (groupPart.isPresent()) {
            String g = groupPart.get();
            if (isNumeric(g)) {
                gid = id("user", g);
            } else {
                gid = groupFile.entries().stream().filter(e -> e.name().equals(g)).findFirst()
                        .orElseThrow(() -> VesselException.invalid("user",
                                "no group '" + g + "' in the container's /etc/group"))
                        .gid();
            }
        }
        groups.add(gid); // as initgroups(3) does: the primary group is also a supplementary one
        String name = entry.get().name();
        if (!name.isEmpty()) {
            groupFile.entries().stream().filter(e -> e.members().contains(name)).forEach(e -> groups.add(e.gid()));
        }
        groups.addAll(additionalGids);
        groups.addAll(gidsOf(additionalGroups, groupFile));
        return new ResolvedUser(entry.get().uid(), gid, List.copyOf(groups));
    }

    /** The gids of the groups named, each of which must be in the container's /etc/group. */
    private static List<Integer> gidsOf(List<String> names, GroupFile groupFile) {
        List<Integer> gids = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            String field = "additional_groups[" + i + "]";
            gids.add(groupFile.entries().stream().filter(e -> e.name().equals(name)).findFirst()
                    .orElseThrow(() -> VesselException.invalid(field, "no group '" + name
                            + "' in the container's /etc/group"))
                    .gid());
        }
        return gids;
    }

    private static boolean isNumeric(String s) {
        return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
    }

    private static int id(String field, String s) {
        try {
            return Math.toIntExact(Long.parseLong(s)); // ids are u32, but the kernel reserves (u32)-1
        } catch (NumberFormatException | ArithmeticException e) {
            throw VesselException.invalid(field, "'" + s + "' is not a valid id");
        }
    }

    private static List<PasswdEntry> passwd(List<Path> roots) {
        List<PasswdEntry> out = new ArrayList<>();
        for (String[] f : entries(roots, "passwd")) {
            if (f.length >= 4 && isNumeric(f[2]) && isNumeric(f[3])) {
                out.add(new PasswdEntry(f[0], id("user", f[2]), id("user", f[3])));
            }
        }
        return out;
    }

    private static List<GroupEntry> group(List<Path> roots) {
        List<GroupEntry> out = new ArrayList<>();
        for (String[] f : entries(roots, "group")) {
            if (f.length >= 3 && isNumeric(f[2])) {
                List<String> members = f.length >= 4 && !f[3].isEmpty() ? List.of(f[3].split(",")) : List.of();
                out.add(new GroupEntry(f[0], id("user", f[2]), members));
            }
        }
        return out;
    }

    /** The lines of {@code /etc/<file>}, split on ':'; none when the rootfs has no such file. */
    private static List<String[]> entries(List<Path> roots, String file) {
        for (Path root : roots) {
            Path path = root.resolve("etc").resolve(file);
            // the upper layers' entry hides the lower ones', even a whiteout (or anything else) hides them
            if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) || Files.isSymbolicLink(root.resolve("etc"))) {
                return entries(root, file);
            }
        }
        return roots.isEmpty() ? entries(Path.of("/"), file) : List.of();
    }

    private static List<String[]> entries(Path root, String file) {
        Path etc = root.resolve("etc");
        Path path = etc.resolve(file);
        // An image's symlink would be read on the host, outside its rootfs: refuse to follow it.
        if (Files.isSymbolicLink(etc) || Files.isSymbolicLink(path) || !Files.isRegularFile(path, LinkOption.NOFOLLOW_LINKS)) {
            return List.of();
        }
        try {
            return Files.readAllLines(path).stream()
                    .filter(l -> !l.isBlank() && !l.startsWith("#"))
                    .map(l -> l.split(":", -1)).toList();
        } catch (IOException e) {
            throw VesselException.invalid("user", "cannot read the container's /etc/" + file + ": " + e.getMessage());
        }
    }
}
