package dev.vessel.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** build-initramfs itself: the image's contents, its cache, and its errors on bad input. */
class BuildInitramfsTest {
    static final Path SCRIPT = Path.of("src/main/initramfs/build-initramfs");
    static final Path AGENT_JARS = Path.of("target/agent-jars");
    static GuestArtifacts artifacts;

    @TempDir
    Path tmp;

    record Result(int status, String stdout, String stderr) {
    }

    @BeforeAll
    static void requireArtifacts() throws Exception {
        artifacts = GuestArtifacts.load();
    }

    static Result run(Map<String, String> env, String... args) throws Exception {
        Path out = Files.createTempFile("build-initramfs", ".out");
        Path err = Files.createTempFile("build-initramfs", ".err");
        try {
            ProcessBuilder builder = new ProcessBuilder(Stream.concat(Stream.of(SCRIPT.toString()), Stream.of(args)).toList())
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            builder.environment().putAll(env);
            Process process = builder.start();
            if (!process.waitFor(5, TimeUnit.MINUTES)) {
                process.destroyForcibly().waitFor();
            }
            return new Result(process.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.delete(out);
            Files.delete(err);
        }
    }

    @Test
    void theImageHoldsWhatTheGuestNeeds() throws Exception {
        // the archive is LZ4-compressed (legacy format, as the kernel unpacks it)
        Process list = new ProcessBuilder("sh", "-c", "lz4 -dc | cpio -itv --quiet")
                .redirectInput(artifacts.initrd().toFile()).start();
        String listing = new String(list.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, list.waitFor(), "lz4 and cpio cannot list the initramfs (apt-get install lz4 cpio)");
        List<String> lines = listing.lines().toList();
        // The kernel opens /dev/console before /init runs: it must be in the archive itself.
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("c") && l.matches(".*\\b5,\\s+1 .* dev/console$")),
                "no /dev/console (c 5 1) in the initramfs");
        for (String path : List.of("init", "usr/bin/busybox", "opt/vessel", "var/lib/vessel/bin/vessel-launch",
                "usr/lib64/ld-linux-x86-64.so.2", "usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/x86_64-linux-gnu/libm.so.6")) {
            assertTrue(lines.stream().anyMatch(l -> l.endsWith(" " + path)), "no " + path + " in the initramfs");
        }
        // the software lives on its image, not in every guest's RAM: /opt/vessel is an empty mount point here
        assertTrue(lines.stream().noneMatch(l -> l.contains(" opt/vessel/")), "files under /opt/vessel in the initramfs");
        assertTrue(lines.stream().anyMatch(l -> l.matches(".* (usr/)?bin/sh -> /usr/bin/busybox$")),
                "no busybox applet link for /bin/sh");
    }

    @Test
    void theSoftwareImageIsAnFsdaxInfoBlockThenAnErofsOfPlainFiles() throws Exception {
        byte[] image = Files.readAllBytes(artifacts.software());
        assertEquals(0, image.length % (2 << 20), "not whole 2 MiB: " + image.length);
        // the info block the guest's kernel maps the NVDIMM's pages by (struct nd_pfn_sb at 4 KiB), checksummed
        ByteBuffer block = ByteBuffer.wrap(image, 4096, 4096).slice().order(ByteOrder.LITTLE_ENDIAN);
        assertEquals("NVDIMM_PFN_INFO\0", new String(image, 4096, 16, StandardCharsets.US_ASCII));
        assertEquals(1, block.getShort(52), "version major");
        assertEquals(4, block.getShort(54), "version minor");
        assertEquals(2 << 20, block.getLong(56), "the data's offset");
        assertEquals((image.length - (2 << 20)) / 4096, block.getLong(64), "the data's pages");
        assertEquals(1, block.getInt(72), "mode: the pages' metadata in guest RAM");
        long lo = 0;
        long hi = 0;
        for (int i = 0; i < 4096; i += 4) {
            lo = (lo + (i < 4088 ? Integer.toUnsignedLong(block.getInt(i)) : 0)) & 0xffffffffL;
            hi += lo;
        }
        assertEquals((hi << 32) | lo, block.getLong(4088), "the info block's Fletcher-64 checksum");

        // from 2 MiB on: the erofs holding /opt/vessel
        Path software = Files.write(tmp.resolve("software.erofs"), java.util.Arrays.copyOfRange(image, 2 << 20, image.length));
        Path tree = tmp.resolve("software");
        Process extract = new ProcessBuilder("fsck.erofs", "--extract=" + tree, software.toString())
                .redirectErrorStream(true).start();
        String output = new String(extract.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, extract.waitFor(), "fsck.erofs refused the software image (apt-get install erofs-utils):\n" + output);
        for (String path : List.of("jre/bin/java", "jre/lib/server/libjvm.so", "jre/lib/modules", "agent.aot",
                "jvm.options")) {
            assertTrue(Files.isRegularFile(tree.resolve(path)), "no /opt/vessel/" + path + " in the software image");
        }
        try (var agents = Files.list(tree.resolve("agent"))) {
            assertTrue(agents.anyMatch(p -> p.getFileName().toString().matches("vessel-guest-agent-.*\\.jar")),
                    "no guest agent jar under /opt/vessel/agent");
        }
        // no data inlined in inodes, which erofs could not read through DAX: dump.erofs shows each file's layout
        Process dump = new ProcessBuilder("dump.erofs", "--path=/jvm.options", software.toString()).redirectErrorStream(true)
                .start();
        String layout = new String(dump.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, dump.waitFor(), layout);
        assertTrue(layout.contains("Layout: 0 "), "jvm.options (a part of a block) is not a plain file (layout 0):\n" + layout);
    }

    @Test
    void theSameInputsAreACacheHit() throws Exception {
        Result again = run(Map.of(), "--jars", AGENT_JARS.toString(), "--cache", artifacts.all().getProperty("cache"));
        assertEquals(0, again.status(), again.stderr());
        assertTrue(again.stderr().contains("cached: "), "not taken from the cache:\n" + again.stderr());
        assertEquals(-1L, Files.mismatch(Path.of(again.stdout().strip()), artifacts.initrd()),
                "the cached initramfs differs from the one the build placed in target/guest");
        assertEquals(-1L, Files.mismatch(Path.of(again.stdout().strip()).resolveSibling("software.erofs"), artifacts.software()),
                "the cached software image differs from the one the build placed in target/guest");
    }

    @Test
    void refusesAJarsDirectoryWithoutTheAgent() throws Exception {
        Files.writeString(tmp.resolve("other.jar"), "not the agent");
        Result result = run(Map.of(), "--jars", tmp.toString(), "--cache", tmp.resolve("cache").toString());
        assertNotEquals(0, result.status());
        assertTrue(result.stderr().contains("--jars: no vessel-guest-agent jar in " + tmp), result.stderr());
        assertTrue(Files.notExists(tmp.resolve("cache")), "a refused build wrote to the cache");
    }

    @Test
    void refusesAJdkOlderThan25() throws Exception {
        Path jdk = Files.createDirectories(tmp.resolve("jdk17/bin"));
        Files.writeString(jdk.resolveSibling("release"), "JAVA_VERSION=\"17.0.9\"\n");
        Files.writeString(jdk.resolve("jlink"), "#!/bin/sh\n");
        Files.setPosixFilePermissions(jdk.resolve("jlink"), PosixFilePermissions.fromString("rwxr-xr-x"));
        Result result = run(Map.of("VESSEL_GUEST_JDK", jdk.getParent().toString()),
                "--jars", AGENT_JARS.toString(), "--cache", tmp.resolve("cache").toString());
        assertNotEquals(0, result.status());
        assertTrue(result.stderr().contains("is 17: the guest needs a JDK 25 or newer"), result.stderr());
    }

    @Test
    void refusesAnUnknownArgument() throws Exception {
        Result result = run(Map.of(), "--jar", AGENT_JARS.toString());
        assertNotEquals(0, result.status());
        assertTrue(result.stderr().contains("unknown argument '--jar'"), result.stderr());
    }
}
