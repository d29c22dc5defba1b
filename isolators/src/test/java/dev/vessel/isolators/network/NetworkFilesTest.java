package dev.vessel.isolators.network;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.HostEntry;
import dev.vessel.core.model.HostPathVolume;
import dev.vessel.core.model.Mount;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.Volume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A container's /etc/resolv.conf, /etc/hosts and /etc/hostname, from its config and a host's files. */
class NetworkFilesTest {
    @TempDir
    Path tmp;
    NetworkFiles files;

    @BeforeEach
    void hostFiles() throws Exception {
        Path resolv = Files.writeString(tmp.resolve("host-resolv.conf"),
                "# the host's\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nnameserver ::1\nsearch corp.test\n");
        Path hosts = Files.writeString(tmp.resolve("host-hosts"), "127.0.0.1\tlocalhost\n192.0.2.9\tbuild-host\n");
        files = new NetworkFiles(resolv, hosts);
    }

    private ContainerConfig.Builder container() throws Exception {
        Path rootfs = Files.createDirectories(tmp.resolve("rootfs/etc"));
        for (String name : List.of("resolv.conf", "hosts", "hostname")) {
            Files.writeString(rootfs.resolve(name), "");
        }
        return ContainerConfig.newBuilder().setId("web-1").setHostRootfs(tmp.resolve("rootfs").toString());
    }

    @Test
    void aNetworkOfItsOwnGetsTheHostsResolverLessLoopbackAndItsNameOnItsAddresses() throws Exception {
        Path dir = tmp.resolve("etc");
        List<Mount> binds = files.write(dir, "web-1", container().build(), List.of("10.88.0.5"));
        assertEquals(List.of("/etc/resolv.conf", "/etc/hosts", "/etc/hostname"),
                binds.stream().map(Mount::getTarget).toList());
        assertEquals("# the host's\nnameserver 192.0.2.1\nsearch corp.test\n", Files.readString(dir.resolve("resolv.conf")),
                "a name server on loopback would be the container's own loopback");
        assertEquals("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n10.88.0.5\tweb-1\n",
                Files.readString(dir.resolve("hosts")));
        assertEquals("web-1\n", Files.readString(dir.resolve("hostname")));
        assertEquals(dir.resolve("hosts").toString(), binds.get(1).getSource());
        assertEquals("bind", binds.get(1).getType());
    }

    @Test
    void theConfigsResolverAndHostsWinAndNoAddressMeansDebiansOwnName() throws Exception {
        ContainerConfig config = container().setHostname("api").addDnsServers("192.0.2.53").addDnsServers("2001:db8::53")
                .addDnsSearch("example.test").addDnsOptions("ndots:2").addDnsOptions("rotate")
                .addExtraHosts(HostEntry.newBuilder().setHostname("db").setIp("192.0.2.7")).build();
        assertEquals("nameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch example.test\noptions ndots:2 rotate\n",
                files.resolvConf(config));
        assertEquals("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tapi\n192.0.2.7\tdb\n",
                files.hosts(config, "api", List.of()));
    }

    @Test
    void theHostsNetworkKeepsTheHostsFilesAndAPodsMemberHasNoNameOfItsOwn() throws Exception {
        ContainerConfig host = container().addNetworks(NetworkAttachment.newBuilder().setNetwork("host"))
                .addExtraHosts(HostEntry.newBuilder().setHostname("db").setIp("192.0.2.7")).build();
        assertEquals("# the host's\nnameserver 127.0.0.53\nnameserver 192.0.2.1\nnameserver ::1\nsearch corp.test\n",
                files.resolvConf(host), "on the host's network its loopback is the host's");
        assertEquals("127.0.0.1\tlocalhost\n192.0.2.9\tbuild-host\n192.0.2.7\tdb\n", files.hosts(host, "web-1", List.of()));

        Path dir = tmp.resolve("member");
        List<Mount> binds = files.write(dir, "m", container().setParentId("pod").build(), List.of());
        assertEquals(List.of("/etc/resolv.conf", "/etc/hosts"), binds.stream().map(Mount::getTarget).toList(),
                "its host name is its pod's");
        assertEquals("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n", Files.readString(dir.resolve("hosts")));
    }

    @Test
    void aFileTheConfigBindsItselfIsLeftToIt() throws Exception {
        ContainerConfig engine = container().addVolumes(Volume.newBuilder().setTarget("/etc/resolv.conf")
                .setHostPath(HostPathVolume.newBuilder().setPath("/var/lib/engine/resolv.conf")))
                .addVolumes(Volume.newBuilder().setTarget("/etc//hosts")
                        .setHostPath(HostPathVolume.newBuilder().setPath("/var/lib/engine/hosts"))).build();
        assertEquals(List.of("/etc/hostname"), files.write(tmp.resolve("engine"), "web-1", engine, List.of())
                .stream().map(Mount::getTarget).toList());
        assertEquals(false, NetworkFiles.applyTo(ContainerConfig.newBuilder().setPod(true).build()), "a pod has no rootfs");
    }

    @Test
    void aRootfsGivenAsADirectoryGetsOnlyTheFilesItHasAndAnImagesEvery() throws Exception {
        Path bare = Files.createDirectories(tmp.resolve("bare/etc"));
        Files.writeString(bare.resolve("hosts"), "");
        ContainerConfig config = ContainerConfig.newBuilder().setId("web-1").setHostRootfs(tmp.resolve("bare").toString())
                .build();
        assertEquals(List.of("/etc/hosts"), files.write(tmp.resolve("bare-files"), "web-1", config, List.of()).stream()
                .map(Mount::getTarget).toList());
        assertEquals(List.of("hosts"), List.of(bare.toFile().list()), "nothing made in the caller's directory");
        ContainerConfig image = ContainerConfig.newBuilder().setId("web-1")
                .setImage(dev.vessel.core.model.ImageReference.newBuilder().setRepository("library/busybox")).build();
        assertEquals(3, files.write(tmp.resolve("image-files"), "web-1", image, List.of()).size());
    }
}
