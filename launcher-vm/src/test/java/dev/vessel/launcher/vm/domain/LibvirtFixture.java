package dev.vessel.launcher.vm.domain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import dev.vessel.launcher.vm.VmLauncherConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** What tests against the real libvirt need: a running libvirtd, and virsh to check what it holds. */
public final class LibvirtFixture {
    public static final String URI = VmLauncherConfig.DEFAULT_LIBVIRT_URI;

    private LibvirtFixture() {
    }

    /** Fails, loudly, when libvirt cannot be reached: these tests never skip. */
    public static void requireLibvirt() throws Exception {
        Result r;
        try {
            r = virsh("version");
        } catch (IOException e) {
            throw new AssertionError("these tests need virsh (apt-get install libvirt-clients): " + e.getMessage(), e);
        }
        if (r.status != 0) {
            fail("these tests need a running libvirtd at " + URI + " (start it: virtlogd -d; libvirtd -d): " + r.output);
        }
    }

    /** Names of every domain libvirt knows, running or defined. */
    public static List<String> allDomainNames() throws Exception {
        Result r = virsh("list", "--all", "--name");
        assertEquals(0, r.status, r.output);
        return r.output.lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    /**
     * Waits until libvirt no longer lists the domain: after a task's end QEMU is gone, but libvirt
     * forgets the domain only once QEMU is reaped, which this host's PID 1 does a second or so later.
     */
    public static void awaitNoDomain(String name) throws Exception {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (allDomainNames().contains(name)) {
            if (System.nanoTime() > deadline) {
                fail("libvirt still lists " + name + " 30 s after its end");
            }
            Thread.sleep(100);
        }
    }

    /** Whether the process exists and has not exited (a zombie waiting for PID 1 has). */
    public static boolean isRunning(long pid) throws Exception {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        if (!Files.exists(stat)) {
            return false;
        }
        String line = Files.readString(stat);
        return line.charAt(line.lastIndexOf(')') + 2) != 'Z';
    }

    record Result(int status, String output) {
    }

    static Result virsh(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("virsh", "-c", URI));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail("virsh " + String.join(" ", args) + " hung");
        }
        return new Result(p.exitValue(), out);
    }
}
