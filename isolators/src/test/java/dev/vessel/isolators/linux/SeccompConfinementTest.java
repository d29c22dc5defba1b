package dev.vessel.isolators.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.error.ValidationException;
import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.ContainerState;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Seccomp;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import dev.vessel.core.paths.RuntimePaths;
import dev.vessel.isolators.IsolatorCatalog;
import dev.vessel.isolators.IsolatorCatalog.Placement;
import dev.vessel.isolators.IsolatorContext;
import dev.vessel.isolators.cgroups.CgroupHierarchies;
import dev.vessel.isolators.cgroups.CgroupHierarchy;
import dev.vessel.isolators.testing.ProcessNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
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

    static final String PARENT = "vessel-seccomp-" + UUID.randomUUID().toString().substring(0, 8);
    static final CgroupHierarchies HIERARCHIES = CgroupHierarchies.detect();
    static RuntimePaths paths;
    static Path rootfs;
    static UnifiedContainerizer containerizer;

    @BeforeAll
    static void startNode() throws Exception {
        ProcessNode node = ProcessNode.start(tmp, "seccomp", p -> IsolatorCatalog.build(
                IsolatorContext.of(p, HIERARCHIES, PARENT), EnumSet.of(Placement.PROCESS_HOST)));
        paths = node.paths();
        rootfs = node.rootfs();
        containerizer = node.containerizer();
    }

    @AfterAll
    static void stopNode() throws Exception {
        if (containerizer != null) {
            containerizer.list().stream().filter(s -> s.getState() != ContainerState.TERMINATED)
                    .forEach(s -> containerizer.destroy(s.getId()));
        }
        for (CgroupHierarchy h : HIERARCHIES.all()) {
            Files.deleteIfExists(h.mountPoint().resolve(PARENT));
        }
    }

    static ContainerConfig.Builder config(String id, String script) {
        return ContainerConfig.newBuilder().setId(id).setIsolation(Isolation.PROCESS)
                .addCommand("/bin/sh").addArgs("-c").addArgs(script).setHostRootfs(rootfs.toString());
    }

    static Termination run(ContainerConfig.Builder config) throws Exception {
        containerizer.launch(config.build());
        Termination t = containerizer.wait(config.getId()).get(30, TimeUnit.SECONDS);
        assertEquals(TerminationReason.EXITED, t.getReason(), t + ", stderr " + stderr(config.getId()));
        return t;
    }

    static String stdout(String id) throws IOException {
        return Files.readString(paths.stdoutLog(paths.containerDir(List.of(id))));
    }

    static String stderr(String id) throws IOException {
        return Files.readString(paths.stderrLog(paths.containerDir(List.of(id))));
    }

    static final String STATUS = "grep -E '^Seccomp' /proc/self/status;";
    static final String PROBE = " if unshare -U true; then echo unshare allowed; else echo unshare denied; fi";

    @Test
    void theDefaultProfileFiltersTheTaskAndDeniesWithEperm() throws Exception {
        run(config("default", STATUS + PROBE));
        assertEquals("Seccomp:\t2\nSeccomp_filters:\t1\nunshare denied\n", stdout("default"));
        assertTrue(stderr("default").contains("Operation not permitted"), stderr("default"));
    }

    @Test
    void ordinaryWorkRunsUnderTheDefaultProfile() throws Exception {
        run(config("pipeline", "mkdir -p /tmp/w && cd /tmp/w && echo hello > f && cat f | tr a-z A-Z | wc -c"
                + " && sleep 0 && ls /proc/self/fd | sort | head -1 && id -u"));
        assertEquals("6\n0\n0\n", stdout("pipeline"), stderr("pipeline"));
    }

    @Test
    void unconfinedHasNoFilter() throws Exception {
        run(config("unconfined", STATUS + PROBE).setSeccomp(Seccomp.newBuilder().setUnconfined(true)));
        assertEquals("Seccomp:\t0\nSeccomp_filters:\t0\nunshare allowed\n", stdout("unconfined"), stderr("unconfined"));
    }

    @Test
    void capSysAdminLetsItsCallsThrough() throws Exception {
        run(config("admin", STATUS + PROBE)
                .setCapabilities(Capabilities.newBuilder().addAdd("CAP_SYS_ADMIN")));
        assertEquals("Seccomp:\t2\nSeccomp_filters:\t1\nunshare allowed\n", stdout("admin"), stderr("admin"));
    }

    @Test
    void aCustomProfileIsHonoured() throws Exception {
        String profile = """
                {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
                 "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]}""";
        run(config("custom", "touch /tmp/file && echo touched; mkdir /tmp/dir || echo mkdir denied;" + PROBE)
                .setSeccomp(Seccomp.newBuilder().setProfileJson(profile)));
        assertEquals("touched\nmkdir denied\nunshare allowed\n", stdout("custom"), stderr("custom"));
        assertTrue(stderr("custom").contains("Operation not permitted"), stderr("custom"));
    }

    @Test
    void aMalformedProfileIsRefusedNamingTheFieldAndCreatesNothing() {
        ValidationException e = assertThrows(ValidationException.class, () -> containerizer.launch(
                config("malformed", "true").setSeccomp(Seccomp.newBuilder().setProfileJson("""
                        {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_EXPLODE"}]}"""))
                        .build()));
        assertTrue(e.getMessage().contains("seccomp.profile_json"), e.getMessage());
        assertTrue(e.getMessage().contains("$.syscalls[0].action"), e.getMessage());
        assertFalse(Files.exists(paths.containerDir(List.of("malformed"))));
        assertTrue(containerizer.list().stream().noneMatch(s -> s.getId().equals("malformed")));
    }
}
