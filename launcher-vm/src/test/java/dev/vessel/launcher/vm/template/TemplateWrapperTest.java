package dev.vessel.launcher.vm.template;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.launcher.vm.domain.DomainXml;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The wrapper run as libvirt runs it, in front of a stand-in QEMU that prints what it was given. */
class TemplateWrapperTest {
    /** libvirt 9.0's two backends as it writes them on QEMU's command line for a guest with a software image. */
    private static final String RAM = "{\"qom-type\":\"memory-backend-ram\",\"id\":\"ram-node0\",\"size\":536870912}";
    private static final String NVDIMM = "{\"qom-type\":\"memory-backend-file\",\"id\":\"memnvdimm0\","
            + "\"mem-path\":\"/s/vm-software/software.erofs\",\"share\":false,\"size\":92274688,\"pmem\":true}";

    @TempDir
    Path dir;
    private Path wrapper;
    private Path template;

    @BeforeEach
    void install() throws IOException {
        // the stand-in prints each argument on a line, then what descriptor 3 holds, if it is open
        Path qemu = dir.resolve("fake-qemu");
        Files.writeString(qemu, "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n"
                + "if [ -e /proc/self/fd/3 ]; then echo \"fd3=$(cat <&3)\"; fi\n");
        Files.setPosixFilePermissions(qemu, PosixFilePermissions.fromString("rwxr-xr-x"));
        wrapper = dir.resolve("state/vm-templates/qemu");
        TemplateWrapper.install(wrapper, qemu);
        template = Files.createDirectories(dir.resolve("state/vm-templates/vessel-template-0123456789ab"));
        Files.writeString(template.resolve("state"), "saved-state");
    }

    @Test
    void withoutARoleItIsQemuUnchanged() throws Exception {
        Run run = run(Map.of(), "-machine", "none", "-object", RAM, "-object", NVDIMM);
        assertEquals(0, run.status, run.err);
        assertEquals(List.of("-machine", "none", "-object", RAM, "-object", NVDIMM), run.lines);
    }

    @Test
    void buildingPutsTheGuestRamOnTheTemplatesFileSharedAndTheSoftwareImageSharedReadOnly() throws Exception {
        Run run = run(Map.of(DomainXml.TEMPLATE_ROLE_VARIABLE, "build", DomainXml.TEMPLATE_DIR_VARIABLE,
                template.toString()), "-name", "guest=g", "-object", RAM, "-object", NVDIMM, "-S");
        assertEquals(0, run.status, run.err);
        assertEquals(List.of("-name", "guest=g", "-object",
                "{\"qom-type\":\"memory-backend-file\",\"id\":\"ram-node0\",\"mem-path\":\"" + template.resolve("memory")
                        + "\",\"share\":true,\"size\":536870912}",
                "-object", NVDIMM.replace("\"share\":false", "\"share\":true,\"readonly\":true"), "-S"), run.lines);
    }

    @Test
    void aCloneMapsTheFilePrivatelyAndWaitsForTheSavedStateOpenAsDescriptor3() throws Exception {
        Run run = run(Map.of(DomainXml.TEMPLATE_ROLE_VARIABLE, "clone", DomainXml.TEMPLATE_DIR_VARIABLE,
                template.toString()), "-object", RAM, "-object", NVDIMM);
        assertEquals(0, run.status, run.err);
        assertTrue(run.lines.get(1).contains("\"mem-path\":\"" + template.resolve("memory") + "\",\"share\":false,"),
                run.lines.toString());
        assertEquals(List.of("-incoming", "defer", "fd3=saved-state"), run.lines.subList(4, 7));
    }

    @Test
    void aCommandLineWithoutTheGuestRamOrTheSoftwareImageIsRefused() throws Exception {
        Map<String, String> build = Map.of(DomainXml.TEMPLATE_ROLE_VARIABLE, "build", DomainXml.TEMPLATE_DIR_VARIABLE,
                template.toString());
        Run noRam = run(build, "-object", NVDIMM);
        assertEquals(1, noRam.status);
        assertTrue(noRam.err.contains("ram-node0"), noRam.err);
        assertTrue(noRam.lines.isEmpty(), "QEMU ran: " + noRam.lines);
        Run noSoftware = run(build, "-object", RAM);
        assertEquals(1, noSoftware.status);
        Run oddSize = run(build, "-object", RAM.replace("536870912}", "536870912,\"prealloc\":true}"), "-object", NVDIMM);
        assertEquals(1, oddSize.status);
        assertTrue(oddSize.err.contains("size"), oddSize.err);
        Run badRole = run(Map.of(DomainXml.TEMPLATE_ROLE_VARIABLE, "other", DomainXml.TEMPLATE_DIR_VARIABLE,
                template.toString()), "-object", RAM, "-object", NVDIMM);
        assertEquals(1, badRole.status);
        assertTrue(badRole.err.contains("other"), badRole.err);
    }

    @Test
    void anUnchangedWrapperIsNotWrittenAgainSoLibvirtNeedNotProbeItAgain() throws Exception {
        Object before = Files.getAttribute(wrapper, "unix:ctime");
        Object inode = Files.getAttribute(wrapper, "unix:ino");
        Thread.sleep(20);
        TemplateWrapper.install(wrapper, dir.resolve("fake-qemu"));
        assertEquals(before, Files.getAttribute(wrapper, "unix:ctime"));
        assertEquals(inode, Files.getAttribute(wrapper, "unix:ino"));
        TemplateWrapper.install(wrapper, Path.of("/usr/bin/qemu-system-x86_64"));
        assertNotEquals(inode, Files.getAttribute(wrapper, "unix:ino"));
        assertTrue(Files.readString(wrapper).contains("qemu=/usr/bin/qemu-system-x86_64\n"));
        assertEquals("rwxr-xr-x", PosixFilePermissions.toString(Files.getPosixFilePermissions(wrapper)));
    }

    @Test
    void pathsThatWouldBreakQemusOptionsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> TemplateWrapper.checkDir(Path.of("/s/a,b")));
        assertThrows(IllegalArgumentException.class, () -> TemplateWrapper.checkDir(Path.of("/s/a\"b")));
        assertThrows(IllegalArgumentException.class, () -> TemplateWrapper.install(dir.resolve("w"), Path.of("/q 1")));
        assertEquals(Path.of("/var/lib/vessel/vm-templates/t-1"),
                TemplateWrapper.checkDir(Path.of("/var/lib/vessel/vm-templates/t-1")));
    }

    private record Run(int status, List<String> lines, String err) {
    }

    private Run run(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(wrapper.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().remove(DomainXml.TEMPLATE_ROLE_VARIABLE);
        builder.environment().putAll(env);
        Process process = builder.start();
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        int status = process.waitFor();
        return new Run(status, out.isEmpty() ? List.of() : List.of(out.split("\n")), err);
    }
}
