package dev.vessel.launcher.vm;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import dev.vessel.core.linux.ErrnoException;
import dev.vessel.core.linux.LibC;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;

/**
 * Creates persistent tap devices through {@code /dev/net/tun} (TUNSETIFF, then TUNSETPERSIST), as
 * {@code ip tuntap add mode tap} does. Persistent, so the device outlives the descriptor used to make
 * it: QEMU (through libvirt) opens it again by name. Deleting it is a netlink RTM_DELLINK.
 */
final class TapDevices {
    /** IFNAMSIZ less the terminating NUL. */
    static final int MAX_NAME_LENGTH = 15;

    private static final long TUNSETIFF = 0x400454caL;
    private static final long TUNSETPERSIST = 0x400454cbL;
    private static final short IFF_TAP = 0x0002;
    private static final short IFF_NO_PI = 0x1000;
    private static final int IFREQ_BYTES = 40;
    private static final int O_RDWR = 2;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CALL_STATE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CALL_STATE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    // ioctl is variadic: its third argument is a pointer for TUNSETIFF and a number for TUNSETPERSIST.
    private static final MethodHandle IOCTL_POINTER = ioctl(ADDRESS);
    private static final MethodHandle IOCTL_NUMBER = ioctl(JAVA_LONG);

    private TapDevices() {
    }

    /** Creates the persistent tap {@code name} in the calling thread's network namespace, down. */
    static void createPersistent(String name) throws ErrnoException {
        byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
        if (bytes.length == 0 || bytes.length > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("a tap name has 1 to " + MAX_NAME_LENGTH + " characters: " + name);
        }
        int fd = LibC.open("/dev/net/tun", O_RDWR | LibC.O_CLOEXEC);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CALL_STATE);
            MemorySegment ifreq = arena.allocate(IFREQ_BYTES); // zeroed: name, then the flags at offset 16
            ifreq.copyFrom(MemorySegment.ofArray(bytes));
            ifreq.set(JAVA_SHORT, 16, (short) (IFF_TAP | IFF_NO_PI));
            if ((int) IOCTL_POINTER.invokeExact(state, fd, TUNSETIFF, ifreq) != 0) {
                throw new ErrnoException("create the tap " + name, (int) ERRNO.get(state, 0L));
            }
            if ((int) IOCTL_NUMBER.invokeExact(state, fd, TUNSETPERSIST, 1L) != 0) {
                throw new ErrnoException("make the tap " + name + " persistent", (int) ERRNO.get(state, 0L));
            }
        } catch (ErrnoException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("ioctl downcall failed", t);
        } finally {
            LibC.close(fd);
        }
    }

    private static MethodHandle ioctl(MemoryLayout argument) {
        return LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("ioctl"),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, argument),
                Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
    }
}
