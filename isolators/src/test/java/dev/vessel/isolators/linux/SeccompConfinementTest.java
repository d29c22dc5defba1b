package dev.vessel.isolators.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ValidationException;
import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.Seccomp;
import dev.vessel.isolators.testing.ProcessNode;
import dev.vessel.linux.CgroupHierarchies;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The seccomp filter of real process containers, with the isolators a node runs for process tasks by
 * default: the kernel's view of it ({@code Seccomp:} in /proc/self/status) and what it lets through.
 * The probe of a denied call is {@code unshare -U}: creating a user namespace needs no capability,
 * so only the filter stops it.
 */
class SeccompConfinementTest {
    @TempDir
    static Path tmp;

    static final String PARENT = ProcessNode.uniqueCgroupParent("vessel-seccomp-");
    static final CgroupHierarchies HIERARCHIES = CgroupHierarchies.detect();
    static ProcessNode node;

    @BeforeAll
    static void startNode() throws Exception {
        node = ProcessNode.startWithDefaultIsolators(tmp, "seccomp", HIERARCHIES, PARENT);
    }

    @AfterAll
    static void stopNode() throws Exception {
        ProcessNode.stop(node, HIERARCHIES, PARENT);
    }

    static final String STATUS = "grep -E '^Seccomp' /proc/self/status;";
    static final String PROBE = " if unshare -U true; then echo unshare allowed; else echo unshare denied; fi";

    @Test
    void theDefaultProfileFiltersTheTaskAndDeniesWithEperm() throws Exception {
        node.runToExit(node.shellConfig("default", STATUS + PROBE));
        assertEquals("Seccomp:\t2\nSeccomp_filters:\t1\nunshare denied\n", node.stdout("default"));
        assertTrue(node.stderr("default").contains("Operation not permitted"), node.stderr("default"));
    }

    @Test
    void ordinaryWorkRunsUnderTheDefaultProfile() throws Exception {
        node.runToExit(node.shellConfig("pipeline",
                "mkdir -p /tmp/w && cd /tmp/w && echo hello > f && cat f | tr a-z A-Z | wc -c"
                + " && sleep 0 && ls /proc/self/fd | sort | head -1 && id -u"));
        assertEquals("6\n0\n0\n", node.stdout("pipeline"), node.stderr("pipeline"));
    }

    @Test
    void unconfinedHasNoFilter() throws Exception {
        node.runToExit(node.shellConfig("unconfined", STATUS + PROBE)
                .setSeccomp(Seccomp.newBuilder().setUnconfined(true)));
        assertEquals("Seccomp:\t0\nSeccomp_filters:\t0\nunshare allowed\n", node.stdout("unconfined"),
                node.stderr("unconfined"));
    }

    @Test
    void capSysAdminLetsItsCallsThrough() throws Exception {
        node.runToExit(node.shellConfig("admin", STATUS + PROBE)
                .setCapabilities(Capabilities.newBuilder().addAdd("CAP_SYS_ADMIN")));
        assertEquals("Seccomp:\t2\nSeccomp_filters:\t1\nunshare allowed\n", node.stdout("admin"), node.stderr("admin"));
    }

    @Test
    void aCustomProfileIsHonoured() throws Exception {
        String profile = """
                {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
                 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}""";
        node.runToExit(node.shellConfig("custom",
                "touch /tmp/file && echo touched; mkdir /tmp/dir || echo mkdir denied;" + PROBE)
                .setSeccomp(Seccomp.newBuilder().setProfileJson(profile)));
        assertEquals("touched\nmkdir denied\nunshare allowed\n", node.stdout("custom"), node.stderr("custom"));
        assertTrue(node.stderr("custom").contains("Operation not permitted"), node.stderr("custom"));
    }

    @Test
    void aMalformedProfileIsRefusedNamingTheFieldAndCreatesNothing() {
        ValidationException e = assertThrows(ValidationException.class, () -> node.containerizer().launch(
                node.shellConfig("malformed", "true").setSeccomp(Seccomp.newBuilder().setProfileJson("""
                        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_EXPLODE"}]}"""))
                        .build()));
        assertTrue(e.getMessage().contains("seccomp.profile_json"), e.getMessage());
        assertTrue(e.getMessage().contains("$.syscalls[0].action"), e.getMessage());
        assertFalse(Files.exists(node.paths().containerDir(List.of("malformed"))));
        assertTrue(node.containerizer().list().stream().noneMatch(s -> s.getId().equals("malformed")));
    }
}
