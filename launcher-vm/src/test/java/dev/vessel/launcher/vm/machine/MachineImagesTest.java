package dev.vessel.launcher.vm.machine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.GuestInterface;
import dev.vessel.core.model.GuestRoute;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A machine's images with the real tools: base images checked as what they are (qemu-img), the
 * machine's overlay taking every write while the base stays byte for byte (written through qemu-io),
 * and the NoCloud seed read back from its ISO (isoinfo).
 */
class MachineImagesTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void aBaseImageIsWhatItsFormatSaysAndStandsAlone() throws Exception {
        Path raw = Files.write(dir.resolve("base.raw"), new byte[(int) (2 * MIB)]);
        assertEquals(new BaseImage(raw, "raw", 2 * MIB), BaseImage.inspect(raw, "raw"));
        Path qcow2 = qcow2("base.qcow2", 64 * MIB);
        assertEquals(64 * MIB, BaseImage.inspect(qcow2, "qcow2").virtualSizeBytes());

        assertRefused(BaseImage.FIELD, "is a qcow2 image, not raw", () -> BaseImage.inspect(qcow2, "raw"));
        assertRefused(BaseImage.FIELD, "is not a qcow2 image", () -> BaseImage.inspect(raw, "qcow2"));
        Path text = Files.writeString(dir.resolve("notes.txt"), "not an image");
        assertRefused(BaseImage.FIELD, "is not a qcow2 image", () -> BaseImage.inspect(text, "qcow2"));
        // the classic: a qcow2 whose backing file is a host file
        Path sneaky = dir.resolve("sneaky.qcow2");
        HostCommands.run("qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", "/etc/hostname", sneaky.toString(), "1M");
        assertRefused(BaseImage.FIELD, "has a backing file ('/etc/hostname')", () -> BaseImage.inspect(sneaky, "qcow2"));
        assertRefused(BaseImage.FIELD, "is not a regular file", () -> BaseImage.inspect(dir, "raw"));
        Path link = Files.createSymbolicLink(dir.resolve("link.qcow2"), qcow2);
        assertRefused(BaseImage.FIELD, "is not a regular file", () -> BaseImage.inspect(link, "qcow2"));
        assertRefused(BaseImage.FIELD, "is an empty disk image",
                () -> BaseImage.inspect(Files.write(dir.resolve("empty.raw"), new byte[0]), "raw"));
    }

    @Test
    void theMachinesDiskTakesEveryWriteAndTheBaseStaysAsItWas() throws Exception {
        BaseImage base = BaseImage.inspect(qcow2("cloud.qcow2", 32 * MIB), "qcow2");
        String before = HostCommands.sha256(base.path());
        Path disk = dir.resolve("vm.qcow2");

        MachineDisk.ensure(disk, base, 64 * MIB);
        QemuImg.Info info = QemuImg.info(disk, "qcow2");
        assertEquals(java.util.Optional.of(base.path().toString()), info.backingFile());
        assertEquals(java.util.Optional.of("qcow2"), info.backingFormat());
        assertEquals(64 * MIB, info.virtualSizeBytes(), "grown to the size asked");
        HostCommands.run("qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 64k", disk.toString());
        assertEquals(before, HostCommands.sha256(base.path()), "a write to the machine's disk reached the base image");

        // kept across boots: found and checked, not made again
        Object inode = Files.getAttribute(disk, "unix:ino");
        MachineDisk.ensure(disk, base, 64 * MIB);
        assertEquals(inode, Files.getAttribute(disk, "unix:ino"));
        assertTrue(HostCommands.run("qemu-io", "-f", "qcow2", "-c", "read -P 0xab 0 64k", disk.toString()).contains("read 65536/65536"));

        BaseImage other = BaseImage.inspect(qcow2("other.qcow2", 32 * MIB), "qcow2");
        assertRefused(MachineDisk.FIELD, "is not an overlay of " + other.path(), () -> MachineDisk.ensure(disk, other, 0));
        Path notDisk = Files.writeString(dir.resolve("notes.qcow2"), "x");
        assertRefused(MachineDisk.FIELD, "is not a qcow2 image", () -> MachineDisk.ensure(notDisk, base, 0));
        assertRefused("vm.machine.disk_size_bytes", "smaller than the base image",
                () -> MachineDisk.ensure(dir.resolve("small.qcow2"), base, MIB));
        assertEquals(List.of(), Files.list(dir).filter(p -> p.getFileName().toString().startsWith(".")).toList(),
                "a temporary disk was left");
    }

    @Test
    void theSeedCarriesMetaDataAsJsonAndUserDataAsGiven() throws Exception {
        Path iso = dir.resolve("seed.iso");
        String userData = "#cloud-config\nruncmd:\n  - echo hi\n";
        String trickyKey = "ssh-ed25519 AAAAC3Nz \"quoted\": {not: yaml}";
        GuestInterface nic = GuestInterface.newBuilder().setMac("02:42:0a:59:03:05").setMtu(1450)
                .addAddresses("10.89.3.5/24").addRoutes(GuestRoute.newBuilder().setDestination("0.0.0.0/0")
                        .setGateway("10.89.3.1")).build();
        NoCloudSeed.write(iso, "i-42", "web-1", userData, List.of("ssh-rsa AAAAB3 a@b", trickyKey), List.of(nic));

        assertTrue(HostCommands.run("isoinfo", "-d", "-i", iso.toString()).contains("Volume id: cidata"));
        JsonNode meta = new ObjectMapper().readTree(HostCommands.run("isoinfo", "-R", "-i", iso.toString(), "-x", "/meta-data"));
        assertEquals("i-42", meta.get("instance-id").asText());
        assertEquals("web-1", meta.get("local-hostname").asText());
        assertEquals(trickyKey, meta.get("public-keys").get(1).asText());
        assertEquals(userData, HostCommands.run("isoinfo", "-R", "-i", iso.toString(), "-x", "/user-data"));
        JsonNode network = new ObjectMapper().readTree(HostCommands.run("isoinfo", "-R", "-i", iso.toString(), "-x", "/network-config"));
        assertEquals(2, network.get("version").asInt());
        JsonNode eth = network.get("ethernets").get("nic0");
        assertEquals("02:42:0a:59:03:05", eth.get("match").get("macaddress").asText());
        assertEquals("10.89.3.5/24", eth.get("addresses").get(0).asText());
        assertEquals(1450, eth.get("mtu").asInt());
        assertEquals("10.89.3.1", eth.get("routes").get(0).get("via").asText());
        assertEquals(List.of(iso), Files.list(dir).toList(), "the seed's files or a temporary ISO were left");

        // no NICs: no network-config, cloud-init's own fallback
        NoCloudSeed.write(iso, "i-43", "", "", List.of(), List.of());
        assertTrue(!HostCommands.run("isoinfo", "-R", "-l", "-i", iso.toString()).contains("network-config"));
    }

    private Path qcow2(String name, long size) throws Exception {
        Path image = dir.resolve(name);
        HostCommands.run("qemu-img", "create", "-q", "-f", "qcow2", image.toString(), Long.toString(size));
        return image;
    }

    private static void assertRefused(String field, String problem, org.junit.jupiter.api.function.Executable call) {
        VesselException e = assertThrows(VesselException.class, call);
        assertEquals(field, e.field().orElseThrow(), e.getMessage());
        assertTrue(e.getMessage().contains(problem), e.getMessage());
    }

}
