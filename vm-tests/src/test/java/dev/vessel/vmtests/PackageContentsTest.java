package dev.vessel.vmtests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.node.daemon.DaemonConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What scripts/package puts in the .deb, read back with dpkg-deb: files, owners, conffiles, dependencies. */
class PackageContentsTest {
    @TempDir
    Path tmp;

    @Test
    void theFilesAreWhereTheFhsAndTheDaemonsDefaultsPutThemOwnedByRoot() throws Exception {
        Path deb = DebianPackage.built();
        List<String> listing = DebianPackage.run(List.of("dpkg-deb", "-c", deb.toString())).lines().toList();
        Set<String> paths = listing.stream().map(line -> line.substring(line.indexOf("./") + 1).replaceAll(" -> .*", ""))
                .collect(Collectors.toSet());
        for (String expected : List.of("/usr/bin/vessel", "/usr/bin/vesseld", "/usr/bin/vessel-runtime",
                "/usr/bin/vessel-runtime-vm", "/usr/lib/vessel/lib/vessel-node.jar", "/usr/lib/vessel/bin/vessel-exec",
                "/usr/lib/vessel/bin/vessel-runtime", "/usr/lib/vessel/jre/bin/java", "/usr/lib/vessel/guest/vmlinux",
                "/usr/lib/vessel/guest/initramfs.cpio.lz4", "/usr/lib/vessel/guest/software.erofs",
                "/usr/lib/vessel/guest/artifacts.properties",
                "/etc/vessel/vesseld.conf", "/lib/systemd/system/vesseld.service",
                "/usr/share/bash-completion/completions/vessel", "/usr/share/man/man1/vessel.1.gz",
                "/usr/share/man/man1/vessel-run.1.gz", "/usr/share/man/man1/vesseld.1.gz")) {
            assertTrue(paths.contains(expected), expected + " is not in the package:\n" + String.join("\n", listing));
        }
        for (String line : listing) {
            assertTrue(line.contains(" root/root "), "not owned by root: " + line);
        }
        assertTrue(listing.stream().anyMatch(l -> l.startsWith("-rwxr-xr-x") && l.endsWith("./usr/bin/vessel")),
                "/usr/bin/vessel is not executable");
        // the guest, described relative to where it is installed, not to the build tree it came from
        String guest = DebianPackage.file(deb, "/usr/lib/vessel/guest/artifacts.properties");
        assertTrue(guest.contains("kernel=vmlinux\n") && guest.contains("initrd=initramfs.cpio.lz4\n")
                && guest.contains("software=software.erofs\n"), guest);
        assertFalse(guest.contains(Path.of("..").toAbsolutePath().normalize().toString()), guest);
    }

    @Test
    void theControlFileDeclaresWhatVesselNeedsAndTheConfigurationIsAConffile() throws Exception {
        Path deb = DebianPackage.built();
        String depends = DebianPackage.run(List.of("dpkg-deb", "-f", deb.toString(), "Depends")).strip();
        Set<String> required = Arrays.stream(depends.split(",\\s*")).collect(Collectors.toSet());
        assertTrue(required.containsAll(Set.of("libseccomp2", "libvirt0", "iptables", "containernetworking-plugins")),
                depends);
        String recommends = DebianPackage.run(List.of("dpkg-deb", "-f", deb.toString(), "Recommends"));
        assertTrue(recommends.contains("libvirt-daemon-system") && recommends.contains("qemu-system-x86"), recommends);
        assertEquals("amd64", DebianPackage.run(List.of("dpkg-deb", "-f", deb.toString(), "Architecture")).strip());

        Path control = tmp.resolve("DEBIAN");
        DebianPackage.run(List.of("dpkg-deb", "-e", deb.toString(), control.toString()));
        assertEquals("/etc/vessel/vesseld.conf\n", Files.readString(control.resolve("conffiles")));
        for (String script : List.of("postinst", "prerm", "postrm")) {
            assertTrue(Files.getPosixFilePermissions(control.resolve(script)).contains(PosixFilePermission.OWNER_EXECUTE),
                    script);
        }
        assertTrue(Files.readString(control.resolve("postrm")).contains("VESSEL_PURGE_DATA"));
    }

    @Test
    void theServiceStartsVesseldOnTheShippedConfigurationWhichTheDaemonReads() throws Exception {
        Path deb = DebianPackage.built();
        String unit = DebianPackage.file(deb, "/lib/systemd/system/vesseld.service");
        assertTrue(unit.contains("\nExecStart=/usr/bin/vesseld --config /etc/vessel/vesseld.conf\n"), unit);
        assertTrue(unit.contains("\nKillMode=process\n"), "stopping the service must leave the containers running");
        assertTrue(unit.contains("\nWantedBy=multi-user.target\n"), unit);

        Path conf = Files.writeString(tmp.resolve("vesseld.conf"), DebianPackage.file(deb, "/etc/vessel/vesseld.conf"));
        DaemonConfig config = DaemonConfig.Settings.readFile(conf).resolve();
        assertEquals(Path.of("/var/lib/vessel"), config.paths().stateDir());
        assertEquals(Path.of("/run/vessel/vessel.sock"), config.socket());
    }
}
