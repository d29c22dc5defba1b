package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code run}'s {@code --vm-*} flags as the config's {@code vm} they put into the request. */
class VmFlagsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The flags as {@code run} holds them. */
    @Command(name = "run")
    static final class Run {
        @Option(names = "--vm")
        boolean vm;
        @Mixin
        VmFlags vmFlags;
        @Spec
        CommandSpec spec;
    }

    private static JsonNode request(String... args) {
        Run run = new Run();
        new CommandLine(run).parseArgs(args);
        ObjectNode body = JSON.createObjectNode();
        run.vmFlags.putInto(body, run.vm, run.spec);
        return body;
    }

    private static String refusal(String... args) {
        return assertThrows(CommandLine.ParameterException.class, () -> request(args)).getMessage();
    }

    @Test
    void everyFlagLandsInItsFieldAndRelativeFilesBecomeAbsolute() throws Exception {
        String cwd = Path.of("").toAbsolutePath().toString();
        JsonNode vm = request("--vm", "--vm-vcpus", "2", "--vm-memory", "448m", "--vm-kernel", "guest/vmlinuz",
                "--vm-initrd", "/boot/initrd.img", "--vm-kernel-cmdline", "console=ttyS0 quiet",
                "--vm-disk", "data.img,target=/data,ro,fs=ext4", "--vm-disk", "/dev/vdx_not_here,format=qcow2,rw",
                "--vm-keep-rootfs-owners").get("vm");
        assertEquals(JSON.readTree("""
                {"vcpus": 2, "memory_bytes": 469762048, "kernel": "%s/guest/vmlinuz", "initrd": "/boot/initrd.img",
                 "kernel_cmdline": "console=ttyS0 quiet",
                 "disks": [{"path": "%s/data.img", "read_only": true, "target": "/data", "fs_type": "ext4"},
                           {"path": "/dev/vdx_not_here", "read_only": false, "format": "qcow2"}],
                 "keep_rootfs_owners": true}
                """.formatted(cwd, cwd)).toString(), vm.toString(), "the fields in the flags' order, as JSON");
    }

    @Test
    void withoutAnyFlagThereAreNoVmOptionsWithOrWithoutVm() {
        assertFalse(request("--vm").has("vm"));
        assertFalse(request().has("vm"));
        assertEquals(JSON.createObjectNode().put("vcpus", 1), request("--vm", "--vm-vcpus", "1").get("vm"));
    }

    @Test
    void aFlagWithoutVmOrWithAValueTheApiReadsAsItsDefaultIsRefusedNamingTheFlag() {
        assertEquals("--vm-memory: only with --vm (it configures the task's virtual machine)",
                refusal("--vm-memory", "1g"));
        assertEquals("--vm-keep-rootfs-owners: only with --vm (it configures the task's virtual machine)",
                refusal("--vm-keep-rootfs-owners"));
        assertEquals("--vm-vcpus: must be at least 1, not 0", refusal("--vm", "--vm-vcpus", "0"));
        assertTrue(refusal("--vm", "--vm-memory", "0").contains("'0' must be a positive size"));
        assertTrue(refusal("--vm", "--vm-kernel-cmdline", " ").startsWith("--vm-kernel-cmdline: must not be empty"));
        assertTrue(refusal("--vm", "--vm-kernel", "").startsWith("--vm-kernel: must name a file"));
    }

    @Test
    void aBadDiskIsRefusedSayingWhatIsWrong() {
        for (String[] bad : new String[][] {
                {",target=/d", "the file is missing"},
                {"/d.img,bogus", "unknown option 'bogus' (known: target=DIR, ro, rw, format=raw|qcow2, fs=TYPE)"},
                {"/d.img,target=data", "the target 'data' must be an absolute path"},
                {"/d.img,format=", "'format' needs a value"},
                {"/d.img,ro=yes", "'ro' takes no value"}}) {
            String message = refusal("--vm", "--vm-disk", bad[0]);
            assertTrue(message.contains("--vm-disk") && message.contains(bad[1]), message);
        }
    }
}
