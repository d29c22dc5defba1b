package dev.vessel.launcher.vm.domain;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.linux.ErrnoException;
import dev.vessel.linux.LibC;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * The QEMU process libvirt started for a domain: its pid (from the pid file libvirt keeps while the
 * domain runs) and a future that completes when it exits, watched through a pidfd (QEMU is
 * libvirtd's child, not ours). The pidfd is opened while the domain is known to run, so it names
 * this QEMU even if the pid is reused later.
 */
public final class QemuProcess {
    /** Where the system instance of libvirt's QEMU driver writes {@code <domain name>.pid}. */
    static final Path PID_DIR = Path.of("/run/libvirt/qemu");

    private final long pid;
    private final CompletableFuture<Void> exited = new CompletableFuture<>();

    private QemuProcess(long pid) {
        this.pid = pid;
    }

    /** The QEMU of the running domain {@code domainName}, watched from now on. */
    public static QemuProcess of(String domainName) throws IOException {
        Path pidFile = PID_DIR.resolve(domainName + ".pid");
        long pid;
        try {
            pid = Long.parseLong(Files.readString(pidFile).trim());
        } catch (NoSuchFileException e) {
            throw new VesselException(ErrorCode.INTERNAL, "vm", "libvirt wrote no pid file " + pidFile
                    + " for domain " + domainName + " (is the connection qemu:///system?)");
        }
        QemuProcess qemu = new QemuProcess(pid);
        int pidfd;
        try {
            pidfd = LibC.pidfdOpen(pid);
        } catch (ErrnoException e) {
            if (e.errno() != LibC.ESRCH) {
                throw e;
            }
            qemu.exited.complete(null); // it is gone already
            return qemu;
        }
        // poll(2) pins a virtual thread's carrier, so this waits on a platform thread: one per VM.
        Thread.ofPlatform().daemon().name("qemu-" + pid).start(() -> {
            try {
                LibC.awaitReadable(pidfd);
            } catch (ErrnoException e) {
                // cannot watch it any more; treat as gone, the caller checks libvirt
            } finally {
                LibC.close(pidfd);
            }
            qemu.exited.complete(null);
        });
        return qemu;
    }

    public long pid() {
        return pid;
    }

    public CompletableFuture<Void> exited() {
        return exited;
    }
}
