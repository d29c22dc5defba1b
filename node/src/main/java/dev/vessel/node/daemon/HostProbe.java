package dev.vessel.node.daemon;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** What the host offers VMs: KVM needs both an openable /dev/kvm and vmx/svm among the CPU's flags. */
final class HostProbe {
    private static final Pattern VIRT_FLAG = Pattern.compile("\\b(vmx|svm)\\b");

    private HostProbe() {
    }

    static boolean devKvmOpens() {
        try (var ch = Files.newByteChannel(Path.of("/dev/kvm"), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return true;
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            return false;
        }
    }

    static boolean cpuHasVirtualization() {
        try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("flags")).anyMatch(l -> VIRT_FLAG.matcher(l).find());
        } catch (IOException e) {
            return false;
        }
    }

    static String kernelRelease() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (IOException e) {
            return System.getProperty("os.version");
        }
    }
}
