package dev.vessel.launcher.vm.domain;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * A QEMU monitor command sent with a file descriptor ({@code virDomainQemuMonitorCommandWithFiles}, libvirt
 * 8.2 and later), which libvirt-java does not bind: called through the FFM API on a libvirt connection of its
 * own, opened and closed around the call (it is rare: a channel taken back after a restart).
 */
final class QemuMonitorWithFile {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBVIRT = SymbolLookup.libraryLookup("libvirt.so.0", Arena.global());
    private static final SymbolLookup LIBVIRT_QEMU = SymbolLookup.libraryLookup("libvirt-qemu.so.0", Arena.global());

    private static final MethodHandle CONNECT_OPEN = libvirt("virConnectOpen", FunctionDescriptor.of(ADDRESS, ADDRESS));
    private static final MethodHandle CONNECT_CLOSE =
            libvirt("virConnectClose", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle LOOKUP = libvirt("virDomainLookupByUUIDString",
            FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle DOMAIN_FREE = libvirt("virDomainFree", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle LAST_ERROR = libvirt("virGetLastErrorMessage", FunctionDescriptor.of(ADDRESS));
    private static final MethodHandle COMMAND = LINKER.downcallHandle(
            LIBVIRT_QEMU.findOrThrow("virDomainQemuMonitorCommandWithFiles"), FunctionDescriptor.of(JAVA_INT,
                    ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle FREE = LINKER.downcallHandle(LINKER.defaultLookup().findOrThrow("free"),
            FunctionDescriptor.ofVoid(ADDRESS));

    private QemuMonitorWithFile() {
    }

    private static MethodHandle libvirt(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(LIBVIRT.findOrThrow(name), descriptor);
    }

    /**
     * QEMU's answer (JSON) to {@code command}, sent to the domain with this uuid together with a copy of
     * {@code fd}; fails with libvirt's message when the connection, the domain or the command fails.
     */
    static String send(String uri, String uuid, String command, int fd) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment connection = (MemorySegment) CONNECT_OPEN.invokeExact(arena.allocateFrom(uri));
            if (connection.equals(MemorySegment.NULL)) {
                throw failure("cannot connect to libvirt at " + uri);
            }
            try {
                MemorySegment domain = (MemorySegment) LOOKUP.invokeExact(connection, arena.allocateFrom(uuid));
                if (domain.equals(MemorySegment.NULL)) {
                    throw failure("no domain " + uuid);
                }
                try {
                    MemorySegment files = arena.allocateFrom(JAVA_INT, fd);
                    MemorySegment result = arena.allocate(ADDRESS);
                    int rc = (int) COMMAND.invokeExact(domain, arena.allocateFrom(command), 1, files,
                            MemorySegment.NULL, MemorySegment.NULL, result, 0);
                    if (rc != 0) {
                        throw failure("the QEMU monitor command with a file failed");
                    }
                    MemorySegment answer = result.get(ADDRESS, 0);
                    try {
                        return answer.reinterpret(Integer.MAX_VALUE).getString(0);
                    } finally {
                        FREE.invokeExact(answer);
                    }
                } finally {
                    int ignored = (int) DOMAIN_FREE.invokeExact(domain);
                }
            } finally {
                int ignored = (int) CONNECT_CLOSE.invokeExact(connection);
            }
        } catch (IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("a libvirt downcall failed", t);
        }
    }

    /** {@code what}, with libvirt's last error on this thread. */
    private static IllegalStateException failure(String what) throws Throwable {
        MemorySegment message = (MemorySegment) LAST_ERROR.invokeExact();
        String why = message.equals(MemorySegment.NULL) ? "" : ": " + message.reinterpret(4096).getString(0);
        return new IllegalStateException(what + why);
    }
}
