package dev.vessel.isolators.network;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.HostEntry;
import dev.vessel.core.model.Mount;
import dev.vessel.core.model.Volume;
import dev.vessel.core.network.NetworkNames;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The files a process container's resolver reads — {@code /etc/hosts}, {@code /etc/hostname},
 * {@code /etc/resolv.conf} — as podman and Mesos's network/cni give them: written into the container's directory
 * and bound over the rootfs's own, so that an image made without them (or with the build host's) resolves names
 * on the container's network. A file the config already binds a volume onto (an OCI engine's own) is left to it,
 * and a rootfs given as a directory gets only those it has: nothing is made in it.
 * The files are the container's copies: what its task writes to them stays its own.
 *
 * <ul>
 *   <li>resolv.conf: the config's name servers, search domains and options; else the host's, less a name server
 *       on loopback where the task has a network namespace of its own (there it would be its own loopback);
 *   <li>hosts: on the host's network the host's, else localhost and the container's host name on each of its
 *       addresses (127.0.1.1 without one, as Debian names its own host); then the config's extra hosts;
 *   <li>hostname: the container's host name (a pod's member has its pod's: none of its own).
 * </ul>
 */
final class NetworkFiles {
    static final String HOSTS = "/etc/hosts", HOSTNAME = "/etc/hostname", RESOLV_CONF = "/etc/resolv.conf";
    /** HOST_NAME_MAX: a longer container id is cut, as the launcher cuts the host name it sets. */
    private static final int MAX_HOSTNAME = 64;
    private static final Set<PosixFilePermission> READABLE_DIR = PosixFilePermissions.fromString("rwxr-xr-x");
    private static final Set<PosixFilePermission> READABLE_FILE = PosixFilePermissions.fromString("rw-r--r--");

    private final Path hostResolvConf;
    private final Path hostHosts;

    /** {@code hostResolvConf}, {@code hostHosts}: the host's files ({@code /etc/resolv.conf}, {@code /etc/hosts}). */
    NetworkFiles(Path hostResolvConf, Path hostHosts) {
        this.hostResolvConf = hostResolvConf;
        this.hostHosts = hostHosts;
    }

    /** Whether the container gets them: a process container with a rootfs of its own. */
    static boolean applyTo(ContainerConfig config) {
        return config.getRootCase() != ContainerConfig.RootCase.ROOT_NOT_SET && !config.getPod();
    }

    /**
     * Writes the files into {@code dir} (made if missing) and answers the binds of those the config does not
     * bind itself; {@code addresses}: the container's IP addresses on its networks.
     */
    List<Mount> write(Path dir, String containerId, ContainerConfig config, List<String> addresses) throws IOException {
        Set<String> taken = config.getVolumesList().stream().map(Volume::getTarget).map(t -> Path.of(t).normalize()
                .toString()).collect(Collectors.toSet());
        boolean member = !config.getParentId().isEmpty();
        String hostname = !config.getHostname().isEmpty() ? config.getHostname()
                : containerId.substring(0, Math.min(containerId.length(), MAX_HOSTNAME));
        List<Mount> binds = new ArrayList<>();
        Files.createDirectories(dir);
        Files.setPosixFilePermissions(dir, READABLE_DIR); // whatever the umask: a mapped root binds from here
        if (bindable(config, taken, RESOLV_CONF)) {
            binds.add(file(dir, "resolv.conf", RESOLV_CONF, resolvConf(config)));
        }
        if (bindable(config, taken, HOSTS)) {
            binds.add(file(dir, "hosts", HOSTS, hosts(config, member ? null : hostname, addresses)));
        }
        if (!member && bindable(config, taken, HOSTNAME)) {
            binds.add(file(dir, "hostname", HOSTNAME, hostname + "\n"));
        }
        return binds;
    }

    /**
     * Not a volume's target; and in a rootfs given as a directory, a file it has (the launcher would make a missing
     * one in that directory, which is the caller's, and a task in a user namespace of its own may not); an image's
     * rootfs is the container's own copy, where one is made.
     */
    private static boolean bindable(ContainerConfig config, Set<String> taken, String target) {
        return !taken.contains(target) && (config.hasImage()
                || Files.exists(Path.of(config.getHostRootfs(), target), LinkOption.NOFOLLOW_LINKS));
    }

    private static Mount file(Path dir, String name, String target, String content) throws IOException {
        Path file = dir.resolve(name);
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, READABLE_FILE);
        return Mount.newBuilder().setSource(file.toString()).setTarget(target).setType("bind").build();
    }

    String resolvConf(ContainerConfig config) throws IOException {
        boolean given = config.getDnsServersCount() + config.getDnsSearchCount() + config.getDnsOptionsCount() > 0;
        StringBuilder out = new StringBuilder();
        if (!given) {
            boolean ownNetwork = !NetworkNames.sharesHost(config);
            for (String line : readOrEmpty(hostResolvConf)) {
                String[] words = line.strip().split("\\s+");
                if (ownNetwork && words.length > 1 && words[0].equals("nameserver") && onLoopback(words[1])) {
                    continue;
                }
                out.append(line).append('\n');
            }
            return out.toString();
        }
        config.getDnsServersList().forEach(s -> out.append("nameserver ").append(s).append('\n'));
        if (config.getDnsSearchCount() > 0) {
            out.append("search ").append(String.join(" ", config.getDnsSearchList())).append('\n');
        }
        if (config.getDnsOptionsCount() > 0) {
            out.append("options ").append(String.join(" ", config.getDnsOptionsList())).append('\n');
        }
        return out.toString();
    }

    /** {@code hostname}: null for a pod's member, whose host name is its pod's. */
    String hosts(ContainerConfig config, String hostname, List<String> addresses) throws IOException {
        StringBuilder out = new StringBuilder();
        if (NetworkNames.sharesHost(config)) {
            readOrEmpty(hostHosts).forEach(line -> out.append(line).append('\n'));
        } else {
            out.append("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
            if (hostname != null) {
                for (String address : addresses.isEmpty() ? List.of("127.0.1.1") : addresses) {
                    out.append(address).append('\t').append(hostname).append('\n');
                }
            }
        }
        for (HostEntry h : config.getExtraHostsList()) {
            out.append(h.getIp()).append('\t').append(h.getHostname()).append('\n');
        }
        return out.toString();
    }

    private static boolean onLoopback(String address) {
        try {
            return InetAddress.ofLiteral(address.replaceFirst("%.*", "")).isLoopbackAddress();
        } catch (IllegalArgumentException e) {
            return false; // not an address: the resolver skips it as well
        }
    }

    private static List<String> readOrEmpty(Path file) throws IOException {
        return Files.exists(file) ? Files.readAllLines(file) : List.of();
    }
}
