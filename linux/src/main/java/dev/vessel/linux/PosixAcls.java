package dev.vessel.linux;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * POSIX ACLs, read and written as the kernel keeps them: the {@code system.posix_acl_access} and
 * {@code system.posix_acl_default} xattrs (a version, then tag/permission/id entries sorted by tag and
 * id). Used to let one other user (QEMU's) into a path without opening it to everyone: an entry is
 * added or replaced, the others are kept, and the mask is recomputed so the new entry takes effect.
 */
public final class PosixAcls {
    public static final int READ = 4;
    public static final int WRITE = 2;
    public static final int EXECUTE = 1;

    private static final String ACCESS = "system.posix_acl_access";
    private static final String DEFAULT = "system.posix_acl_default";
    private static final int VERSION = 2;
    private static final int USER_OBJ = 0x01;
    private static final int USER = 0x02;
    private static final int GROUP_OBJ = 0x04;
    private static final int GROUP = 0x08;
    private static final int MASK = 0x10;
    private static final int OTHER = 0x20;
    private static final int UNDEFINED_ID = -1;
    private static final int ENTRY_BYTES = 8;

    private record Entry(int tag, int perm, int id) {
    }

    private PosixAcls() {
    }

    /** Gives user {@code uid} exactly {@code perms} (of {@link #READ}, {@link #WRITE}, {@link #EXECUTE}) on {@code path}. */
    public static void grantUser(Path path, int uid, int perms) throws IOException {
        grant(path, ACCESS, uid, perms);
    }

    /** The same in a directory's default ACL: what is created in it later gets the entry too. */
    public static void grantUserByDefault(Path dir, int uid, int perms) throws IOException {
        grant(dir, DEFAULT, uid, perms);
    }

    /** The permissions of user {@code uid}'s own entry in {@code path}'s access ACL, if it has one. */
    public static Optional<Integer> userEntry(Path path, int uid) throws IOException {
        Optional<byte[]> acl = Xattrs.get(path, ACCESS);
        if (acl.isEmpty()) {
            return Optional.empty();
        }
        return parse(path, acl.get()).stream().filter(e -> e.tag() == USER && e.id() == uid)
                .map(Entry::perm).findFirst();
    }

    private static void grant(Path path, String xattr, int uid, int perms) throws IOException {
        if ((perms & ~7) != 0) {
            throw new IllegalArgumentException("permissions are rwx bits, not " + perms);
        }
        List<Entry> entries = new ArrayList<>();
        Optional<byte[]> existing = Xattrs.get(path, xattr);
        if (existing.isPresent()) {
            entries.addAll(parse(path, existing.get()));
        } else {
            // no ACL yet: the one the mode stands for
            int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            entries.add(new Entry(USER_OBJ, (mode >> 6) & 7, UNDEFINED_ID));
            entries.add(new Entry(GROUP_OBJ, (mode >> 3) & 7, UNDEFINED_ID));
            entries.add(new Entry(OTHER, mode & 7, UNDEFINED_ID));
        }
        entries.removeIf(e -> (e.tag() == USER && e.id() == uid) || e.tag() == MASK);
        entries.add(new Entry(USER, perms, uid));
        int mask = 0;
        for (Entry e : entries) {
            if (e.tag() == USER || e.tag() == GROUP || e.tag() == GROUP_OBJ) {
                mask |= e.perm();
            }
        }
        entries.add(new Entry(MASK, mask, UNDEFINED_ID));
        entries.sort(Comparator.comparingInt(Entry::tag).thenComparingLong(e -> Integer.toUnsignedLong(e.id())));
        ByteBuffer out = ByteBuffer.allocate(4 + entries.size() * ENTRY_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        out.putInt(VERSION);
        for (Entry e : entries) {
            out.putShort((short) e.tag()).putShort((short) e.perm()).putInt(e.id());
        }
        Xattrs.set(path, xattr, out.array());
    }

    private static List<Entry> parse(Path path, byte[] value) throws IOException {
        ByteBuffer in = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
        if (value.length < 4 || (value.length - 4) % ENTRY_BYTES != 0 || in.getInt() != VERSION) {
            throw new IOException("the ACL of " + path + " is not one this code reads (version 2 entries)");
        }
        List<Entry> entries = new ArrayList<>();
        while (in.hasRemaining()) {
            entries.add(new Entry(Short.toUnsignedInt(in.getShort()), Short.toUnsignedInt(in.getShort()), in.getInt()));
        }
        return entries;
    }
}
