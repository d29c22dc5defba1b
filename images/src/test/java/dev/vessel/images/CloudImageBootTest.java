package dev.vessel.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Boots the Debian 12 cloud image the build placed in target/cloud (src/main/cloud/build-cloud-image)
 * under raw QEMU, through a throw-away qcow2 overlay, with a cloud-init NoCloud seed, and checks that
 * cloud-init applied the seed: host name, the default user's SSH key, a static address from the
 * network config, and runcmd, whose output goes to the serial port.
 */
class CloudImageBootTest {
    /** TCG on a loaded 2-core machine: cloud-init's runcmd ran ~1 min after QEMU started. */
    static final Duration TIMEOUT = Duration.ofSeconds(300);
    static final String HOSTNAME = "vessel-ci-vm";
    static final String MARKER = "vessel-cloud-init-ran";
    /** A throw-away key: its private half was never kept. */
    static final String PUBLIC_KEY =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHRfnQupQPiSuboLCbbG7DlU+QKK3QiU2deDI/WfwqYy vessel-ci-throwaway";
    static final String MAC = "52:54:00:c1:0d:01";
    /** Not what QEMU's user-mode DHCP hands out (10.0.2.15): only the seed's network config gives it. */
    static final String ADDRESS = "10.0.2.77";

    @TempDir
    Path tmp;

    @Test
    void cloudInitAppliesANoCloudSeedOnAnOverlayOfTheImage() throws Exception {
        QemuGuest.requireQemu();
        Properties image = loadImageProperties();
        Path base = Path.of(image.getProperty("disk"));
        String user = image.getProperty("default_user");
        assertTrue(Files.isRegularFile(base), "no cloud image at " + base);

        String info = run(tmp, "qemu-img", "info", "--output=json", base.toString());
        assertTrue(Pattern.compile("\"format\":\\s*\"qcow2\"").matcher(info).find(), "not a qcow2 image:\n" + info);
        assertFalse(info.contains("backing-filename"), "the cached image has a backing file:\n" + info);
        Matcher size = Pattern.compile("\"virtual-size\":\\s*(\\d+)").matcher(info);
        assertTrue(size.find(), "no virtual-size in:\n" + info);
        assertEquals(image.getProperty("virtual_size_bytes"), size.group(1), "virtual size against image.properties");
        String baseSha256 = sha256(base);

        Path overlay = tmp.resolve("overlay.qcow2");
        run(tmp, "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base.toString(), overlay.toString());
        Path seed = seed(user);
        Path console = tmp.resolve("console.log");
        List<String> command = List.of(QemuGuest.QEMU,
                "-machine", "q35,accel=tcg", "-nodefaults", "-no-user-config", "-m", "1024",
                "-drive", "file=" + overlay + ",format=qcow2,if=virtio",
                "-drive", "file=" + seed + ",format=raw,if=virtio,readonly=on",
                "-nic", "user,model=virtio-net-pci,mac=" + MAC,
                "-serial", "file:" + console, "-display", "none", "-no-reboot");
        long started = System.nanoTime();
        Process qemu = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("qemu.log").toFile()).start();
        try {
            String line = awaitMarkerLine(qemu, console);
            System.out.printf("cloud image: runcmd's marker %.1f s after QEMU started: %s%n",
                    (System.nanoTime() - started) / 1e9, line);
            assertTrue(line.contains("hostname=" + HOSTNAME + " "), "the host name was not set:\n" + line);
            assertTrue(line.contains("key=" + PUBLIC_KEY), "the SSH key is not in " + user + "'s authorized_keys:\n" + line);
            assertTrue(line.contains(ADDRESS), "the network config's static address is not up:\n" + line);
        } finally {
            stop(qemu);
        }
        assertEquals(baseSha256, sha256(base), "the base image changed: something wrote it instead of the overlay");
    }

    static Properties loadImageProperties() throws IOException {
        Path file = Path.of("target/cloud/image.properties");
        assertTrue(Files.isRegularFile(file), file.toAbsolutePath() + " is missing: run at least `mvn generate-test-resources -pl images`");
        Properties properties = new Properties();
        try (Reader in = Files.newBufferedReader(file)) {
            properties.load(in);
        }
        for (String key : List.of("disk", "format", "virtual_size_bytes", "default_user")) {
            assertTrue(properties.containsKey(key), "no " + key + " in " + file);
        }
        assertEquals("qcow2", properties.getProperty("format"));
        return properties;
    }

    /** A NoCloud seed: an ISO 9660 volume labelled cidata with meta-data, user-data and network-config. */
    Path seed(String user) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("seed"));
        Files.writeString(dir.resolve("meta-data"), """
                instance-id: vessel-ci-0001
                local-hostname: %s
                """.formatted(HOSTNAME));
        // runcmd runs in cloud-init's final stage, after the user, key and network modules.
        Files.writeString(dir.resolve("user-data"), """
                #cloud-config
                hostname: %s
                ssh_authorized_keys:
                  - %s
                runcmd:
                  - [sh, -c, 'echo "%s hostname=$(hostname) addresses=$(hostname -I) key=$(cat /home/%s/.ssh/authorized_keys) end" > /dev/ttyS0']
                """.formatted(HOSTNAME, PUBLIC_KEY, MARKER, user));
        Files.writeString(dir.resolve("network-config"), """
                version: 2
                ethernets:
                  nic0:
                    match:
                      macaddress: "%s"
                    addresses: [%s/24]
                    routes:
                      - to: 0.0.0.0/0
                        via: 10.0.2.2
                    nameservers:
                      addresses: [10.0.2.3]
                """.formatted(MAC, ADDRESS));
        Path iso = tmp.resolve("seed.iso");
        run(dir, "genisoimage", "-quiet", "-output", iso.toString(), "-volid", "cidata", "-joliet", "-rock",
                "user-data", "meta-data", "network-config");
        return iso;
    }

    /** Waits for runcmd's whole marker line on the serial console; fails with the console if it does not come. */
    static String awaitMarkerLine(Process qemu, Path console) throws Exception {
        Pattern line = Pattern.compile(Pattern.quote(MARKER) + " .*? end");
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            String seen = Files.exists(console) ? Files.readString(console, StandardCharsets.ISO_8859_1) : "";
            Matcher matcher = line.matcher(seen);
            if (matcher.find()) {
                return matcher.group();
            }
            if (!qemu.isAlive()) {
                fail("the VM ended (QEMU exit " + qemu.exitValue() + ") before runcmd's marker:\n" + seen);
            }
            Thread.sleep(250);
        }
        String seen = Files.exists(console) ? Files.readString(console, StandardCharsets.ISO_8859_1) : "";
        return fail("no \"" + MARKER + "\" on the serial console within " + TIMEOUT + ":\n" + seen);
    }

    /** Ends the QEMU this test started (and only it). */
    static void stop(Process qemu) throws InterruptedException {
        qemu.destroy();
        if (!qemu.waitFor(10, TimeUnit.SECONDS)) {
            qemu.destroyForcibly().waitFor();
        }
    }

    /** Runs a command to its end; fails, with its output, unless it exits 0 (or is not installed). */
    static String run(Path dir, String... command) throws Exception {
        Process process;
        try {
            process = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            return fail(command[0] + " could not be started (is it installed? see VESSEL_PACKAGES in scripts/lib.sh): " + e);
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(60, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
        assertEquals(0, process.exitValue(), String.join(" ", command) + " failed:\n" + output);
        return output;
    }

    static String sha256(Path file) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                digest.update(buffer, 0, n);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }
}
