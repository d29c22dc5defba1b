package dev.vessel.linux;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.time.Instant;
import java.util.Objects;

/**
 * What a machine restored from a snapshot must renew, since every copy starts with the snapshot's: the
 * kernel's random state (mixed with fresh bytes, then reseeded at once) and the wall clock (stepped to the
 * host's). Needs CAP_SYS_ADMIN (the reseed) and CAP_SYS_TIME (the clock): the guest agent runs as root.
 */
public final class GuestIdentity {
    /** {@code RNDRESEEDCRNG}, {@code _IO('R', 0x07)}: reseeds the kernel's CRNG from its input pool now. */
    private static final long RNDRESEEDCRNG = 0x5207;
    private static final int CLOCK_REALTIME = 0;
    private static final MethodHandle IOCTL = ErrnoCalls.downcall("ioctl",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
    private static final int O_RDONLY = 0;
    private static final int O_CLOEXEC = 0x80000;
    private static final MethodHandle OPEN = ErrnoCalls.downcall("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    /** {@code RNDADDENTROPY}, {@code _IOW('R', 0x03, int[2])}: adds bytes to the input pool, crediting what it says. */
    private static final long RNDADDENTROPY = 0x40085203L;
    private static final MethodHandle ADD_ENTROPY = ErrnoCalls.downcall("ioctl", FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
    private static final MethodHandle CLOSE = Linker.nativeLinker().downcallHandle(
            Linker.nativeLinker().defaultLookup().findOrThrow("close"),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    private static final MethodHandle CLOCK_SETTIME = ErrnoCalls.downcall("clock_settime",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

    private GuestIdentity() {
    }

    /**
     * Adds {@code entropy} to the kernel's input pool, credited in full ({@code RNDADDENTROPY}: the host's
     * CSPRNG is a source as good as a virtio-rng device, and a guest without one may not have its CRNG ready
     * yet), then reseeds the CRNG from it, so that what any copy reads from now on differs from the others'.
     */
    public static void reseedRandom(byte[] entropy) throws ErrnoException {
        Objects.requireNonNull(entropy, "entropy");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom("/dev/urandom"), O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                throw new ErrnoException("open /dev/urandom", ErrnoCalls.errno(state));
            }
            try {
                // struct rand_pool_info { int entropy_count (bits); int buf_size (bytes); __u32 buf[]; }
                MemorySegment info = arena.allocate(8L + entropy.length, 4);
                info.set(ValueLayout.JAVA_INT, 0, entropy.length * 8);
                info.set(ValueLayout.JAVA_INT, 4, entropy.length);
                MemorySegment.copy(entropy, 0, info, ValueLayout.JAVA_BYTE, 8, entropy.length);
                if ((int) ADD_ENTROPY.invokeExact(state, fd, RNDADDENTROPY, info) != 0) {
                    throw new ErrnoException("ioctl RNDADDENTROPY /dev/urandom", ErrnoCalls.errno(state));
                }
                if ((int) IOCTL.invokeExact(state, fd, RNDRESEEDCRNG) != 0) {
                    throw new ErrnoException("ioctl RNDRESEEDCRNG /dev/urandom", ErrnoCalls.errno(state));
                }
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd); // nothing to undo once written
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable e) {
            throw ErrnoCalls.rethrow(e);
        }
    }

    /** Steps the wall clock ({@code CLOCK_REALTIME}) to {@code now}; the monotonic clocks go on as they were. */
    public static void stepClock(Instant now) throws ErrnoException {
        int rc;
        int errno;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            MemorySegment timespec = arena.allocateFrom(ValueLayout.JAVA_LONG, now.getEpochSecond(), now.getNano());
            rc = (int) CLOCK_SETTIME.invokeExact(state, CLOCK_REALTIME, timespec);
            errno = ErrnoCalls.errno(state);
        } catch (Throwable e) {
            throw ErrnoCalls.rethrow(e);
        }
        if (rc != 0) {
            throw new ErrnoException("clock_settime CLOCK_REALTIME", errno);
        }
    }
}
