package dev.vessel.isolators.cgroups;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.linux.CgroupDeviceProgram;
import dev.vessel.linux.CgroupHierarchies;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The v2 device filter against the real kernel: this host's cgroup2 mount takes BPF device programs
 * even though its controllers live on v1, so a process placed in a cgroup2 directory with the
 * program attached is really refused the devices outside the allowlist.
 */
class CgroupDeviceProgramTest {
    @TempDir
    Path tmp;

    Path cgroup;

    @BeforeEach
    void makeCgroup() throws Exception {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("device program tests must run as root (bpf, cgroups)");
        }
        Path unified = CgroupHierarchies.detect().unified().orElseThrow(
                () -> new IllegalStateException("this host mounts no cgroup2 hierarchy")).mountPoint();
        cgroup = Files.createDirectories(unified.resolve("vessel-test-" + UUID.randomUUID().toString().substring(0, 8)));
    }

    @AfterEach
    void removeCgroup() throws Exception {
        for (int i = 0; i < 200 && Files.exists(cgroup); i++) {
            try {
                Files.delete(cgroup); // the program goes with the cgroup
            } catch (java.io.IOException busy) {
                Thread.sleep(10); // the test's process is still exiting
            }
        }
    }

    /** Runs the script in the cgroup (with the program attached when asked) and returns its output. */
    private String run(boolean filtered, String script) throws Exception {
        return run(filtered ? DevicesIsolator.ALLOWED_RULES : null, script);
    }

    /** Runs the script in the cgroup, with a program allowing {@code rules} attached unless null. */
    private String run(List<CgroupDeviceProgram.Rule> rules, String script) throws Exception {
        if (rules != null) {
            CgroupDeviceProgram.attach(cgroup, rules);
        }
        Process p = new ProcessBuilder("busybox", "sh", "-c", "read go; " + script).redirectErrorStream(true).start();
        Files.writeString(cgroup.resolve("cgroup.procs"), Long.toString(p.pid()));
        OutputStream release = p.getOutputStream();
        release.write('\n');
        release.flush();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        return new String(p.getInputStream().readAllBytes());
    }

    private Path node(String name, int major, int minor) throws Exception {
        Path node = tmp.resolve(name);
        Process p = new ProcessBuilder("mknod", node.toString(), "c", Integer.toString(major), Integer.toString(minor))
                .inheritIO().start();
        assertEquals(0, p.waitFor());
        return node;
    }

    @Test
    void aDeviceOutsideTheAllowlistIsRefusedAndOnesInsideWork() throws Exception {
        Path kmsg = node("kmsg", 1, 11); // not in the allowlist
        String out = run(true, "head -c 1 /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c;"
                + " head -c 1 " + kmsg + " > /dev/null || echo refused");
        assertTrue(out.contains("null-ok"), out);
        assertTrue(out.contains("4"), out);
        assertTrue(out.contains("Operation not permitted") && out.contains("refused"), out);
    }

    @Test
    void withoutTheProgramTheSameDeviceOpens() throws Exception {
        Path full = node("full", 1, 7);
        Path kmsg = node("kmsg", 1, 11);
        String out = run(false, "head -c 4 " + full + " | wc -c; (head -c 1 " + kmsg
                + " > /dev/null & sleep 0.3; kill $! 2>/dev/null); echo done");
        assertTrue(!out.contains("Operation not permitted"), out);
        assertTrue(out.contains("done"), out);
    }

    @Test
    void grantedDevicesJoinTheStandardSetInOneProgram() throws Exception {
        // what gpu/nvidia grants a container holding the GPU whose node is 10:229 (a fake host's nvidia1)
        Path mine = node("mine", 10, 229);
        Path other = node("other", 10, 200);
        String out = run(DevicesIsolator.programRules(List.of("c 10:229 rwm")), "(: <> " + mine + ") && echo mine-ok;"
                + " (: <> " + other + ") || echo other-refused; head -c 1 /dev/null && echo null-ok");
        assertTrue(out.contains("mine-ok"), out);
        assertTrue(out.contains("other-refused") && out.contains("Operation not permitted"), out);
        assertTrue(out.contains("null-ok"), out);
    }

    /** A container's --device /dev/zero:…:r: that number's standard rwm gives way to its own read-only rule. */
    @Test
    void aGrantedDeviceTakesItsOwnPermissionsOverTheStandardOnes() throws Exception {
        String out = run(DevicesIsolator.programRules(List.of("c 1:5 r")), "head -c 4 /dev/zero | wc -c;"
                + " (echo x > /dev/zero) || echo write-refused; echo x > /dev/null && echo null-ok");
        assertTrue(out.contains("4") && out.contains("write-refused") && out.contains("Operation not permitted"), out);
        assertTrue(out.contains("null-ok"), out);
        assertEquals(DevicesIsolator.ALLOWED.size(), DevicesIsolator.allowed(List.of("c 1:5 r")).size());
        assertTrue(DevicesIsolator.allowed(List.of("c 1:5 r")).contains("c 1:5 r"));
        assertTrue(!DevicesIsolator.allowed(List.of("c 1:5 r")).contains("c 1:5 rwm"));
    }

    @Test
    void rulesParseLikeDevicesAllow() {
        assertEquals(new CgroupDeviceProgram.Rule('c', 136, -1, "rwm"), CgroupDeviceProgram.Rule.parse("c 136:* rwm"));
        assertEquals(new CgroupDeviceProgram.Rule('b', -1, -1, "m"), CgroupDeviceProgram.Rule.parse("b *:* m"));
        assertEquals(DevicesIsolator.ALLOWED.size(), DevicesIsolator.ALLOWED_RULES.size());
    }
}
