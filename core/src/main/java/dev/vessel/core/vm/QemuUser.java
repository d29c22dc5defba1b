package dev.vessel.core.vm;

import dev.vessel.linux.PosixAcls;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The unprivileged host user libvirt runs QEMU as, and what Vessel makes readable or writable for it
 * alone (the rootfs view, volumes, disks): never root. Its primary group is QEMU's group too, which on
 * Debian ({@code libvirt-qemu}, group {@code kvm}) is also what opens {@code /dev/kvm}. Access is given to
 * this user alone, by an ACL entry, so nothing is opened to everyone on its behalf.
 *
 * @param name the user's name in the host's {@code /etc/passwd}
 * @param uid  its uid, not 0
 * @param gid  its primary gid
 */
public record QemuUser(String name, int uid, int gid) {
    /** The users distributions' libvirt packages run QEMU as: Debian's and Ubuntu's, then Fedora's. */
    public static final List<String> DISTRIBUTION_USERS = List.of("libvirt-qemu", "qemu");
    private static final Path PASSWD = Path.of("/etc/passwd");

    public QemuUser {
        Objects.requireNonNull(name, "name");
        if (uid == 0) {
            throw new IllegalArgumentException("QEMU's user must not be root: " + name);
        }
    }

    /** libvirt's label for it: numeric, so that nothing is looked up again by name. */
    public String dacLabel() {
        return "+" + uid + ":+" + gid;
    }

    /**
     * Lets QEMU's user search (not list) every directory from {@code top} down to {@code dir}, both
     * included: Vessel's own private directories on the way to something it shares with QEMU.
     */
    public void allowSearch(Path top, Path dir) throws IOException {
        if (!dir.startsWith(top)) {
            throw new IllegalArgumentException(dir + " is not under " + top);
        }
        for (Path p = dir; p != null && p.startsWith(top); p = p.getParent()) {
            if (!may(p, PosixAcls.EXECUTE)) {
                PosixAcls.grantUser(p, uid, PosixAcls.EXECUTE);
            }
        }
    }

    /** Gives QEMU's user {@code perms} (of {@link PosixAcls}' bits) on {@code path} itself. */
    public void allow(Path path, int perms) throws IOException {
        PosixAcls.grantUser(path, uid, perms);
    }

    /** Also on what is created in the directory later (its default ACL). */
    public void allowByDefault(Path dir, int perms) throws IOException {
        PosixAcls.grantUserByDefault(dir, uid, perms);
    }

    /**
     * The nearest directory on the way to {@code path} (its ancestors, not itself) that QEMU's user
     * cannot search, as the owner, its ACL entry, its primary group or everyone; empty when there is none.
     */
    public Optional<Path> firstUnsearchableParent(Path path) throws IOException {
        List<Path> parents = new ArrayList<>();
        for (Path p = path.toAbsolutePath().normalize().getParent(); p != null; p = p.getParent()) {
            parents.addFirst(p);
        }
        for (Path parent : parents) {
            if (!may(parent, PosixAcls.EXECUTE)) {
                return Optional.of(parent);
            }
        }
        return Optional.empty();
    }

    /** Whether QEMU's user has {@code perm} on {@code path} by its mode or its own ACL entry (supplementary groups aside). */
    public boolean may(Path path, int perm) throws IOException {
        Map<String, Object> attrs = Files.readAttributes(path, "unix:mode,uid,gid");
        int mode = (Integer) attrs.get("mode");
        int granted;
        if ((Integer) attrs.get("uid") == uid) {
            granted = mode >> 6;
        } else {
            Optional<Integer> entry = PosixAcls.userEntry(path, uid);
            if (entry.isPresent()) {
                granted = entry.get() & (mode >> 3); // the group bits show the ACL's mask
            } else if ((Integer) attrs.get("gid") == gid) {
                granted = mode >> 3;
            } else {
                granted = mode;
            }
        }
        return (granted & perm & 7) == perm;
    }

    /** The first of {@link #DISTRIBUTION_USERS} this host has; an error naming them when it has none. */
    public static QemuUser ofHost() throws IOException {
        return ofPasswd(PASSWD);
    }

    static QemuUser ofPasswd(Path passwd) throws IOException {
        List<String> lines = Files.readAllLines(passwd, StandardCharsets.UTF_8);
        for (String name : DISTRIBUTION_USERS) {
            Optional<QemuUser> user = find(lines, name);
            if (user.isPresent()) {
                return user.get();
            }
        }
        throw new IOException("none of the users libvirt runs QEMU as (" + String.join(", ", DISTRIBUTION_USERS)
                + ") is in " + passwd + ": install libvirt's QEMU driver (libvirt-daemon-system)");
    }

    private static Optional<QemuUser> find(List<String> passwdLines, String name) throws IOException {
        for (String line : passwdLines) {
            String[] fields = line.split(":", -1);
            if (fields.length >= 4 && fields[0].equals(name)) {
                try {
                    int uid = Integer.parseInt(fields[2]);
                    int gid = Integer.parseInt(fields[3]);
                    if (uid == 0) {
                        throw new IOException("the user " + name + " libvirt runs QEMU as is root in /etc/passwd");
                    }
                    return Optional.of(new QemuUser(name, uid, gid));
                } catch (NumberFormatException e) {
                    throw new IOException("the /etc/passwd entry of " + name + " has no numeric uid and gid: " + line);
                }
            }
        }
        return Optional.empty();
    }
}
