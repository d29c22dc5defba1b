package dev.vessel.isolators.linux;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.SeccompFilter;
import dev.vessel.core.seccomp.SeccompProfile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The default profile and custom ones compiled with the machine's libseccomp. */
class SeccompFiltersTest {
    static final SeccompProfile.Host HOST = SeccompProfile.Host.current();
    static final Set<String> PODMAN_CAPS = Set.of("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
            "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID",
            "CAP_SYS_CHROOT");

    @TempDir
    Path dir;

    SeccompFilters filters;

    @BeforeEach
    void filters() {
        filters = new SeccompFilters(HOST, dir.resolve("none"));
    }

    @Test
    void theDefaultProfileParsesAndCompilesToAProgramTheKernelTakes() {
        SeccompProfile profile = SeccompProfile.parse(SeccompFilters.DEFAULT_PROFILE_JSON);
        assertEquals("SCMP_ACT_ERRNO", profile.defaultAction());
        assertEquals(1, profile.defaultErrnoRet().getAsInt());
        SeccompFilter filter = filters.defaultFilter(PODMAN_CAPS);
        int instructions = filter.getProgram().size() / 8;
        assertEquals(0, filter.getProgram().size() % 8);
        assertTrue(instructions > 100 && instructions <= 4096, instructions + " instructions");
        assertEquals(0, filter.getFlags());
    }

    @Test
    void aCompiledProgramIsCachedByProfileAndCapabilities() {
        SeccompFilter first = filters.defaultFilter(PODMAN_CAPS);
        assertSame(first, filters.defaultFilter(Set.copyOf(PODMAN_CAPS)));
        SeccompFilter admin = filters.filter(SeccompFilters.DEFAULT_PROFILE_JSON,
                union(PODMAN_CAPS, "CAP_SYS_ADMIN"));
        assertFalse(first.getProgram().equals(admin.getProgram()), "CAP_SYS_ADMIN's entries change the program");
    }

    @Test
    void capabilityConditionalEntriesFollowTheCapabilities() {
        // an entry only for CAP_SYS_ADMIN: the program is the unconditional one without it, bigger with it
        String conditional = """
                {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                  {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "includes": {"caps": ["CAP_SYS_ADMIN"]}}]}""";
        String none = """
                {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": []}""";
        String plain = """
                {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}""";
        assertArrayEquals(program(none, PODMAN_CAPS), program(conditional, PODMAN_CAPS));
        assertArrayEquals(program(plain, PODMAN_CAPS), program(conditional, union(PODMAN_CAPS, "CAP_SYS_ADMIN")));
    }

    @Test
    void syscallNamesLibseccompDoesNotKnowAreSkipped() {
        String unknown = """
                {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
                  {"names": ["mkdir", "no_such_call_anywhere"], "action": "SCMP_ACT_ERRNO"}]}""";
        String known = """
                {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}""";
        assertArrayEquals(program(known, Set.of()), program(unknown, Set.of()));
    }

    @Test
    void aMalformedProfileIsRefusedNamingTheField() {
        VesselException e = assertThrows(VesselException.class, () -> filters.filter(
                "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"]}]}", Set.of()));
        assertEquals("seccomp.profile_json", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("$.syscalls[0].action: is required"), e.getMessage());
    }

    @Test
    void flagsReachTheFilter() {
        SeccompFilter f = filters.filter("""
                {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}""",
                Set.of());
        assertEquals(2 | 4, f.getFlags());
    }

    @Test
    void aDefaultProgramWrittenAheadIsUsedInsteadOfCompiling() throws Exception {
        Path shipped = dir.resolve("shipped");
        Path file = SeccompFilters.writeDefault(shipped, PODMAN_CAPS, HOST);
        SeccompFilter compiled = filters.defaultFilter(PODMAN_CAPS);
        assertEquals(compiled, new SeccompFilters(HOST, shipped).defaultFilter(PODMAN_CAPS));
        // what is read is the file: a program of one instruction in its place is what comes back
        byte[] one = {6, 0, 0, 0, 0, 0, (byte) 0xff, 0x7f}; // BPF_RET | BPF_K, SECCOMP_RET_ALLOW
        Files.write(file, ByteBuffer.allocate(12).put(new byte[4]).put(one).array());
        assertArrayEquals(one, new SeccompFilters(HOST, shipped).defaultFilter(PODMAN_CAPS)
                .getProgram().toByteArray());
        // other capabilities have no file there: compiled
        assertEquals(filters.defaultFilter(Set.of()),
                new SeccompFilters(HOST, shipped).defaultFilter(Set.of()));
    }

    @Test
    void podmansOwnProfileFileCompiles() throws Exception {
        // containers-common's, which podman (a package the project's machines have) installs
        Path podman = Path.of("/usr/share/containers/seccomp.json");
        assertTrue(Files.isReadable(podman), podman + " missing: apt-get install podman");
        SeccompFilter filter = filters.filter(Files.readString(podman), PODMAN_CAPS);
        assertTrue(filter.getProgram().size() / 8 > 100, filter.getProgram().size() / 8 + " instructions");
    }

    byte[] program(String json, Set<String> caps) {
        return filters.compile(SeccompProfile.parse(json), caps).getProgram().toByteArray();
    }

    static Set<String> union(Set<String> set, String extra) {
        var out = new java.util.HashSet<>(set);
        out.add(extra);
        return out;
    }
}
