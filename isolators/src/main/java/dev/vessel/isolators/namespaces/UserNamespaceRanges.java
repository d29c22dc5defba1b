package dev.vessel.isolators.namespaces;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;

/**
 * The host ids a node gives its {@code userns=auto} containers, as podman's {@code auto} does: a block of
 * {@code size} uids and one of {@code size} gids per container, from the subordinate ranges
 * ({@code /etc/subuid}, {@code /etc/subgid}) of one user, {@code vessel} by default, never overlapping
 * another container's. The files are read at each allocation, so ranges an operator adds serve the next
 * container without a restart.
 */
public final class UserNamespaceRanges {
    /** podman's default size for {@code auto}: a whole 16-bit id space. */
    public static final long DEFAULT_SIZE = 65536;
    public static final String DEFAULT_USER = "vessel";
    public static final Path DEFAULT_SUBUID = Path.of("/etc/subuid");
    public static final Path DEFAULT_SUBGID = Path.of("/etc/subgid");

    /** What a container got: container id 0 is host uid {@code uidBase} and host gid {@code gidBase}. */
    public record Allocation(long uidBase, long gidBase, long size) {
    }

    /**
     * Where the ids come from.
     *
     * @param user   the user whose subordinate ids the node uses
     * @param subuid its subordinate uids' file; {@code subgid} the gids'
     * @param size   ids per container
     */
    public record Source(String user, Path subuid, Path subgid, long size) {
        public Source {
            Objects.requireNonNull(user, "user");
            Objects.requireNonNull(subuid, "subuid");
            Objects.requireNonNull(subgid, "subgid");
            if (user.isEmpty() || user.contains(":") || user.contains("\n")) {
                throw VesselException.invalid("userns_user", "must be a user name without ':'");
            }
            if (size < 1 || size > 0xFFFF_FFFFL) {
                throw VesselException.invalid("userns_size", "must be between 1 and 4294967295, got " + size);
            }
        }

        /** The {@code vessel} user's ranges in {@code /etc/subuid} and {@code /etc/subgid}, 65536 ids each. */
        public static Source defaults() {
            return new Source(DEFAULT_USER, DEFAULT_SUBUID, DEFAULT_SUBGID, DEFAULT_SIZE);
        }
    }

    private final Source source;
    private final IdRangeAllocator uids = new IdRangeAllocator();
    private final IdRangeAllocator gids = new IdRangeAllocator();

    public UserNamespaceRanges(Source source) {
        this.source = Objects.requireNonNull(source, "source");
    }

    public Source source() {
        return source;
    }

    /** A block of uids and one of gids; refused naming {@code userns} when the ranges hold none free. */
    public synchronized Allocation allocate() {
        List<SubordinateIds.Range> uidRanges = read(source.subuid());
        List<SubordinateIds.Range> gidRanges = read(source.subgid());
        if (uidRanges.isEmpty() || gidRanges.isEmpty()) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "userns", "auto needs subordinate ids for user '"
                    + source.user() + "', and " + (uidRanges.isEmpty() ? source.subuid() : source.subgid())
                    + " grants it none: add a line such as '" + source.user() + ":100000:" + source.size() * 16
                    + "' to " + source.subuid() + " and to " + source.subgid() + " (or run usermod --add-subuids"
                    + " 100000-" + (100000 + source.size() * 16 - 1) + " --add-subgids 100000-"
                    + (100000 + source.size() * 16 - 1) + " " + source.user() + ")");
        }
        OptionalLong uid = uids.allocate(uidRanges, source.size());
        if (uid.isEmpty()) {
            throw exhausted(source.subuid());
        }
        OptionalLong gid = gids.allocate(gidRanges, source.size());
        if (gid.isEmpty()) {
            uids.release(uid.getAsLong());
            throw exhausted(source.subgid());
        }
        return new Allocation(uid.getAsLong(), gid.getAsLong(), source.size());
    }

    /** A container's allocation found in its checkpoint: in use again, whatever the files say now. */
    public synchronized void reserve(Allocation allocation) {
        uids.reserve(allocation.uidBase(), allocation.size());
        gids.reserve(allocation.gidBase(), allocation.size());
    }

    public synchronized void release(Allocation allocation) {
        uids.release(allocation.uidBase());
        gids.release(allocation.gidBase());
    }

    /** Whether this allocation's uid block is in use (tests, diagnostics). */
    public synchronized boolean inUse(Allocation allocation) {
        return uids.inUse(allocation.uidBase());
    }

    private VesselException exhausted(Path file) {
        return new VesselException(ErrorCode.FAILED_PRECONDITION, "userns", "auto: every block of " + source.size()
                + " ids in the ranges of user '" + source.user() + "' in " + file + " is in use by another container;"
                + " add a range there or stop a container");
    }

    private List<SubordinateIds.Range> read(Path file) {
        try {
            return SubordinateIds.of(file, source.user());
        } catch (IOException e) {
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, "userns", "cannot read " + file + ": "
                    + e.getMessage(), e);
        }
    }
}
