package dev.vessel.linux;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * Creates persistent tap devices through {@code /dev/net/tun} (TUNSETIFF, then TUNSETPERSIST), as
 * {@code ip tuntap add mode tap} does. Persistent, so the device outlives the descriptor used to make
 * it: QEMU (through libvirt) opens it again by name. Deleting it is a netlink RTM_DELLINK ({@link RtNetlink}).
 */
public final class TapDevices {
    /** IFNAMSIZ less the terminating NUL. */
    public static final int MAX_NAME_LENGTH = 15;

    private static final long TUNSETIFF = 0x400454caL;
    private static final long TUNSETPERSIST = 0x400454cbL;
    private static final short IFF_TAP = 0x0002;
    private static final short IFF_NO_PI = 0x1000;
    private static final int IFREQ_BYTES = 40;
    private static final int O_RDWR = 2;

    // ioctl is variadic: its third argument is a pointer for TUNSETIFF and a number for TUNSETPERSIST.
    private static final MethodHandle IOCTL_POINTER = ioctl(ADDRESS);
    private static final MethodHandle IOCTL_NUMBER = ioctl(JAVA_LONG);

    private TapDevices() {
    }

    /** Creates the persistent tap {@code name} in the calling thread's network namespace, down. */
    public static void createPersistent(String name) throws ErrnoException {
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length == 0 || bytes.length > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("a tap name has 1 to " + MAX_NAME_LENGTH + " characters: " + name);
        }
        int fd = LibC.open("/dev/net/tun", O_RDWR | LibC.O_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = ErrnoCalls.newErrnoState(arena);
            MemorySegment ifreq = arena.allocate(IFREQ_BYTES); // zeroed: name, then the flags at offset 16
            ifreq.copyFrom(MemorySegment.ofArray(bytes));
            ifreq.set(JAVA_SHORT, 16, (short) (IFF_TAP | IFF_NO_PI));
            if ((int) IOCTL_POINTER.invokeExact(state, fd, TUNSETIFF, ifreq) != 0) {
                throw new ErrnoException("create the tap " + name, ErrnoCalls.errno(state));
            }
            if ((int) IOCTL_NUMBER.invokeExact(state, fd, TUNSETPERSIST, 1L) != 0) {
                throw new ErrnoException("make the tap " + name + " persistent", ErrnoCalls.errno(state));
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw ErrnoCalls.rethrow(t);
        } finally {
            LibC.close(fd);
        }
    }

    private static MethodHandle ioctl(MemoryLayout argument) {
        return ErrnoCalls.variadicDowncall("ioctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, argument), 2);
    }
}
