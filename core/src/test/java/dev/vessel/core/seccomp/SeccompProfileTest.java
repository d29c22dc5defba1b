package dev.vessel.core.seccomp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class SeccompProfileTest {
    static final SeccompProfile.Host AMD64 = new SeccompProfile.Host("amd64", "6.1.0-13-amd64");

    static final String CONDITIONAL = """
            {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1, "comment": "ignored",
             "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
             "syscalls": [
              {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
              {"names": ["socket"], "action": "SCMP_ACT_ALLOW",
               "args": [{"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]},
              {"names": ["mount"], "action": "SCMP_ACT_ALLOW", "includes": {"caps": ["CAP_SYS_ADMIN"]}},
              {"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38, "excludes": {"caps": ["CAP_SYS_ADMIN"]}},
              {"names": ["arch_prctl"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["amd64", "x32"]}},
              {"names": ["set_tls"], "action": "SCMP_ACT_ALLOW", "includes": {"arches": ["arm64"]}},
              {"names": ["ptrace"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "4.8"}},
              {"names": ["future_call"], "action": "SCMP_ACT_ALLOW", "includes": {"minKernel": "7.1"}}
             ]}""";

    @Test
    void parsesTheOciFormatWithDockersConditions() {
        SeccompProfile p = SeccompProfile.parse(CONDITIONAL);
        assertEquals("SCMP_ACT_ERRNO", p.defaultAction());
        assertEquals(1, p.defaultErrnoRet().getAsInt());
        assertEquals(List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"), p.architectures());
        assertEquals(8, p.syscalls().size());
        SeccompProfile.Arg arg = p.syscalls().get(1).args().getFirst();
        assertEquals(new SeccompProfile.Arg(0, 40, 0, "SCMP_CMP_NE"), arg);
        assertEquals(List.of("CAP_SYS_ADMIN"), p.syscalls().get(2).includes().caps());
        assertEquals(38, p.syscalls().get(3).errnoRet().getAsInt());
    }

    @Test
    void resolvingKeepsWhatAppliesToTheCapabilitiesArchitectureAndKernel() {
        SeccompProfile p = SeccompProfile.parse(CONDITIONAL);
        assertEquals(List.of("read", "socket", "clone3", "arch_prctl", "ptrace"),
                names(p.resolve(Set.of("CAP_CHOWN"), AMD64)));
        assertEquals(List.of("read", "socket", "mount", "arch_prctl", "ptrace"),
                names(p.resolve(Set.of("CAP_CHOWN", "CAP_SYS_ADMIN"), AMD64)));
        assertEquals(List.of("read", "socket", "clone3", "set_tls", "ptrace"),
                names(p.resolve(Set.of(), new SeccompProfile.Host("arm64", "6.1"))));
        assertTrue(p.resolve(Set.of(), AMD64).syscalls().stream()
                .allMatch(s -> s.includes().equals(SeccompProfile.Condition.NONE)
                        && s.excludes().equals(SeccompProfile.Condition.NONE)));
    }

    @Test
    void aResolvedProfileWrittenAsJsonParsesBackTheSame() {
        SeccompProfile resolved = SeccompProfile.parse(CONDITIONAL).resolve(Set.of(), AMD64);
        assertEquals(resolved, SeccompProfile.parse(resolved.toJson()));
        SeccompProfile big = SeccompProfile.parse("""
                {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                 "args": [{"index": 0, "value": 18446744073709551615, "valueTwo": 0, "op": "SCMP_CMP_EQ"}]}]}""");
        assertEquals(-1L, big.syscalls().getFirst().args().getFirst().value());
        assertEquals(big, SeccompProfile.parse(big.toJson()));
        assertFalse(big.toJson().contains("-1"), big.toJson());
    }

    @Test
    void dockersArchMapStandsForTheArchitectures() {
        SeccompProfile p = SeccompProfile.parse("""
                {"defaultAction": "SCMP_ACT_ERRNO", "archMap": [
                  {"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                  {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}]}""");
        assertEquals(List.of("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"),
                p.architectures());
        var e = assertThrows(SeccompProfile.MalformedException.class, () -> SeccompProfile.parse(
                "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"archMap\": [{\"architecture\": \"x86\"}]}"));
        assertTrue(e.getMessage().startsWith("$.archMap[0].architecture: must be one of"), e.getMessage());
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "[]                                                           | $: must be a JSON object",
            "{\"defaultAction\": 1}                                       | $.defaultAction: must be one of",
            "{}                                                           | $.defaultAction: is required",
            "{\"defaultAction\": \"SCMP_ACT_NOTIFY\"}                     | $.defaultAction: SCMP_ACT_NOTIFY needs a seccomp listener",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"architectures\": [\"SCMP_ARCH_Z80\"]} | $.architectures[0]: unknown value",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"flags\": [\"SECCOMP_FILTER_FLAG_NEW_LISTENER\"]} | $.flags[0]: unknown value",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}    | $.syscalls: must be an array",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"action\": \"SCMP_ACT_ALLOW\"}]} | $.syscalls[0].names: must name at least one",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": -1}]} | $.syscalls[0].errnoRet: must be an errno",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": -1, \"op\": \"SCMP_CMP_EQ\"}]}]} | $.syscalls[0].args[0].value: must be an integer from 0 to 2^64-1",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 0, \"value\": 1, \"op\": \"EQ\"}]}]} | $.syscalls[0].args[0].op: must be one of",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"a\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"minKernel\": \"new\"}}]} | $.syscalls[0].includes.minKernel: must be a kernel version",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\"                       | $: not JSON",
    })
    void aMalformedProfileIsRefusedNamingTheJsonPath(String json, String problem) {
        var e = assertThrows(SeccompProfile.MalformedException.class, () -> SeccompProfile.parse(json));
        assertTrue(e.getMessage().startsWith(problem.strip()), e.getMessage());
    }

    @ParameterizedTest(name = "{0} >= {1}: {2}")
    @CsvSource({"6.1.0-13-amd64, 4.8, true", "4.8.0, 4.8, true", "4.7.10, 4.8, false", "6.18, 6.18.1, false",
            "10.0, 9.99, true"})
    void kernelVersionsCompareNumerically(String release, String min, boolean atLeast) {
        assertEquals(atLeast, SeccompProfile.atLeast(release, min));
    }

    static List<String> names(SeccompProfile p) {
        return p.syscalls().stream().map(s -> s.names().getFirst()).toList();
    }
}
