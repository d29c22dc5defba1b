package dev.vessel.core.validation;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.ValidationException;
import dev.vessel.core.model.Capabilities;
import dev.vessel.core.model.CloudInit;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.Device;
import dev.vessel.core.model.DockerVolume;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.FetchUri;
import dev.vessel.core.model.HealthCheck;
import dev.vessel.core.model.HostEntry;
import dev.vessel.core.model.HostPathVolume;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.ImageSource;
import dev.vessel.core.model.IdMapping;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.NetworkAttachment;
import dev.vessel.core.model.PersistentVolume;
import dev.vessel.core.model.PortMapping;
import dev.vessel.core.model.Resources;
import dev.vessel.core.model.RestartPolicy;
import dev.vessel.core.model.Rlimit;
import dev.vessel.core.model.Seccomp;
import dev.vessel.core.model.TmpfsVolume;
import dev.vessel.core.model.VmDisk;
import dev.vessel.core.model.VmMachine;
import dev.vessel.core.model.VmOptions;
import dev.vessel.core.model.Volume;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** One case per rule: a valid config broken in one way must be refused naming the field and problem. */
class ConfigValidatorTest {
    static final long GIB = 1L << 30;
    final ConfigValidator validator = new ConfigValidator(new NodeCapacity(2, 8 * GIB));

    static ContainerConfig.Builder valid() {
        return ContainerConfig.newBuilder()
                .setId("web-1")
                .setIsolation(Isolation.PROCESS)
                .addCommand("/bin/sh").addArgs("-c").addArgs("exit 0")
                .setHostRootfs("/srv/rootfs")
                .setResources(Resources.newBuilder().setCpus(0.5).setMemoryBytes(64L << 20).setPids(100));
    }

    static ContainerConfig.Builder res(ContainerConfig.Builder c, UnaryOperator<Resources.Builder> change) {
        change.apply(c.getResourcesBuilder());
        return c;
    }

    static Volume.Builder hostVolume(String target) {
        return Volume.newBuilder().setTarget(target).setHostPath(HostPathVolume.newBuilder().setPath("/srv/data"));
    }

    static VmDisk.Builder disk(String target) {
        return VmDisk.newBuilder().setPath("/var/lib/disks/data.img").setTarget(target);
    }

    static ContainerConfig.Builder vmDisk(ContainerConfig.Builder c, VmDisk.Builder disk) {
        return c.setIsolation(Isolation.VM).setVm(c.getVm().toBuilder().addDisks(disk));
    }

    private static IdMapping idMap(int containerId, int hostId, int size) {
        return IdMapping.newBuilder().setContainerId(containerId).setHostId(hostId).setSize(size).build();
    }

    static Arguments rule(String name, UnaryOperator<ContainerConfig.Builder> breakIt, String field, String problem) {
        return Arguments.of(Named.of(name, breakIt), field, problem);
    }

    static Stream<Arguments> rules() {
        return Stream.of(
                rule("unknown user namespace mode", c -> c.setUserns("keep-id"), "userns",
                        "'keep-id' is not a user namespace mode; use host, auto or private"),
                rule("an OOM score past 1000", c -> c.setOomScoreAdj(1001), "oom_score_adj", "is not from -1000 to 1000"),
                rule("a memory reservation above the limit", c -> res(c, r -> r.setMemoryReservationBytes(128L << 20)),
                        "resources.memory_reservation_bytes", "is above the memory limit"),
                rule("CPU shares below the kernel's least weight", c -> res(c, r -> r.setCpuShares(1)),
                        "resources.cpu_shares", "1 is not a CPU weight from 2 to 262144"),
                rule("CPU shares above the kernel's most", c -> res(c, r -> r.setCpuShares(262_145)),
                        "resources.cpu_shares", "is not a CPU weight"),
                rule("a cpuset naming a CPU the node lacks", c -> res(c, r -> r.setCpusetCpus("1-3")),
                        "resources.cpuset_cpus", "'1-3' names CPUs 2-3, not online on this node (online: 0-1)"),
                rule("a cpuset that is a word", c -> res(c, r -> r.setCpusetCpus("0,all")),
                        "resources.cpuset_cpus", "'0,all' has 'all', not a number or a range such as 0-3"),
                rule("a cpuset range that runs backwards", c -> res(c, r -> r.setCpusetCpus("1-0")),
                        "resources.cpuset_cpus", "has the range '1-0', which runs backwards"),
                rule("a cpuset with an empty member", c -> res(c, r -> r.setCpusetCpus("0,,1")),
                        "resources.cpuset_cpus", "has '', not a number"),
                rule("a cpuset past any machine", c -> res(c, r -> r.setCpusetCpus("0-99999")),
                        "resources.cpuset_cpus", "has '0-99999', above 8191"),
                rule("a huge page size the node lacks", c -> res(c, r -> r.putHugepageLimits("4MB", 0)),
                        "resources.hugepage_limits[4MB]", "'4MB' is not a huge page size of this node's (1GB, 2MB)"),
                rule("a negative huge page limit", c -> res(c, r -> r.putHugepageLimits("2MB", -1)),
                        "resources.hugepage_limits[2MB]", "must be a number of bytes, 0 or more"),
                rule("huge pages for a VM task", c -> res(c.setIsolation(Isolation.VM),
                        r -> r.putHugepageLimits("2MB", 2L << 20)), "resources.hugepage_limits[2MB]", "0 only"),
                rule("huge page limits on a pod's member", c -> res(c.setParentId("pod"),
                        r -> r.putHugepageLimits("2MB", 0)), "resources.hugepage_limits[2MB]", "not for a pod"),
                rule("a mount namespace to join", c -> c.putNamespacePaths("mount", "/proc/1/ns/mnt"),
                        "namespace_paths[mount]", "'mount' is not a namespace a container joins: ipc, uts, pid or"),
                rule("a relative namespace path", c -> c.putNamespacePaths("ipc", "proc/1/ns/ipc"),
                        "namespace_paths[ipc]", "'proc/1/ns/ipc' is not an absolute path"),
                rule("a host namespace for a VM task", c -> c.setIsolation(Isolation.VM)
                        .putNamespacePaths("ipc", "/proc/1/ns/ipc"), "namespace_paths[ipc]", "its guest's"),
                rule("a pod member's own namespace", c -> c.setParentId("pod")
                        .putNamespacePaths("uts", "/proc/1/ns/uts"),
                        "namespace_paths[uts]", "a pod's members join their pod's namespaces"),
                rule("a host name in a joined UTS namespace", c -> c.setHostname("web")
                        .putNamespacePaths("uts", "/proc/1/ns/uts"), "hostname", "keeps its own host name"),
                rule("a memory node the node lacks", c -> res(c, r -> r.setCpusetMems("1")),
                        "resources.cpuset_mems", "'1' names memory node 1, not online on this node (online: 0)"),
                rule("a health check without a test", c -> c.setHealthCheck(HealthCheck.newBuilder().setRetries(2)),
                        "health_check.test", "must be [\"CMD\", program, args…]"),
                rule("a health check of CMD alone", c -> c.setHealthCheck(HealthCheck.newBuilder().addTest("CMD")),
                        "health_check.test", "must be"),
                rule("a health check every 10 ms", c -> c.setHealthCheck(HealthCheck.newBuilder().addTest("CMD-SHELL")
                        .addTest("true").setIntervalMs(10)), "health_check.interval_ms", "10 ms is not from 1000 ms"),
                rule("a health check's unknown on_failure", c -> c.setHealthCheck(HealthCheck.newBuilder()
                        .addTest("CMD").addTest("true").setOnFailure("explode")), "health_check.on_failure",
                        "'explode' is not one of none, kill, stop, restart"),
                rule("a pod's health check", c -> valid().clearCommand().clearArgs().clearRoot().setPod(true)
                        .setHealthCheck(HealthCheck.newBuilder().addTest("CMD").addTest("true")), "health_check",
                        "a pod runs no task to check"),
                rule("a name server that is no address", c -> c.addDnsServers("dns.example"), "dns_servers[0]",
                        "'dns.example' is not an IPv4 or IPv6 address"),
                rule("four name servers", c -> c.addDnsServers("192.0.2.1").addDnsServers("192.0.2.2")
                        .addDnsServers("192.0.2.3").addDnsServers("192.0.2.4"), "dns_servers", "at most 3"),
                rule("a search domain with a space", c -> c.addDnsSearch("a b"), "dns_search[0]", "is not a domain name"),
                rule("a resolver option with a newline", c -> c.addDnsOptions("ndots:2\nnameserver 1.1.1.1"),
                        "dns_options[0]", "is not a resolver option"),
                rule("an extra host without an address", c -> c.addExtraHosts(HostEntry.newBuilder().setHostname("db")),
                        "extra_hosts[0].ip", "is not an IPv4 or IPv6 address"),
                rule("an extra host named with a space", c -> c.addExtraHosts(HostEntry.newBuilder().setHostname("d b")
                        .setIp("192.0.2.7")), "extra_hosts[0].hostname", "is not a valid host name"),
                rule("a name server of a VM task on no network", c -> c.setIsolation(Isolation.VM)
                        .addDnsServers("192.0.2.53"), "dns_servers", "a VM task gets resolver files on a CNI network"),
                rule("an extra host of a VM pod's member", c -> c.setIsolation(Isolation.VM).setParentId("pod")
                        .addExtraHosts(HostEntry.newBuilder().setHostname("db").setIp("192.0.2.7")), "extra_hosts",
                        "a VM pod's members and a VM task without one use their guest's rootfs's own"),
                rule("a sysctl of the whole kernel", c -> c.putSysctls("kernel.pid_max", "32768"),
                        "sysctls[kernel.pid_max]", "would change the host: these may be set: net.*, fs.mqueue.*"),
                rule("a sysctl key climbing out of /proc/sys", c -> c.putSysctls("net.ipv4..x", "1"), "sysctls",
                        "'net.ipv4..x' is not a kernel parameter's dotted name"),
                rule("a sysctl key with a slash", c -> c.putSysctls("net/ipv4/ip_forward", "1"), "sysctls",
                        "is not a kernel parameter's dotted name"),
                rule("a network sysctl on the host's network", c -> c.putSysctls("net.ipv4.ip_forward", "1")
                        .addNetworks(NetworkAttachment.newBuilder().setNetwork("host")),
                        "sysctls[net.ipv4.ip_forward]", "shares the host's network namespace"),
                rule("a pod member's sysctl", c -> c.setParentId("pod").putSysctls("kernel.shmmax", "1"),
                        "sysctls[kernel.shmmax]", "give sysctls to the pod"),
                rule("a sysctl value of two lines", c -> c.putSysctls("net.ipv4.ip_forward", "1\n0"),
                        "sysctls[net.ipv4.ip_forward]", "must be one line"),
                rule("a full VM's sysctl", c -> machine(machineOptions()).putSysctls("net.ipv4.ip_forward", "1"),
                        "sysctls[net.ipv4.ip_forward]", "a full VM (vm.machine) runs no task of Vessel's"),
                rule("a relative cgroup path", c -> c.setCgroupPath("machine/web"), "cgroup_path", "must be an absolute"),
                rule("the root cgroup", c -> c.setCgroupPath("/"), "cgroup_path", "below the root"),
                rule("a cgroup path climbing out", c -> c.setCgroupPath("/a/../b"), "cgroup_path", "level '..' must be"),
                rule("an empty cgroup level", c -> c.setCgroupPath("/a//b"), "cgroup_path", "level '' must be"),
                rule("a pod's member's cgroup path", c -> c.setParentId("pod").setCgroupPath("/a"), "cgroup_path",
                        "under its pod's"),
                rule("private without maps", c -> c.setUserns("private"), "uid_map", "is required with userns private"),
                rule("maps with host", c -> c.setUserns("host").addUidMap(idMap(0, 100000, 65536))
                        .addGidMap(idMap(0, 100000, 65536)), "uid_map", "only for userns private"),
                rule("an empty range", c -> c.addUidMap(idMap(0, 100000, 0)).addGidMap(idMap(0, 100000, 1)),
                        "uid_map[0].size", "at least 1"),
                rule("overlapping host ranges", c -> c.addUidMap(idMap(0, 100000, 100)).addUidMap(idMap(100, 100050, 10))
                        .addGidMap(idMap(0, 100000, 1)), "uid_map[1].host_id", "overlaps the range of uid_map[0]"),
                rule("a range past the last id", c -> c.addUidMap(idMap(0, -10, 100)).addGidMap(idMap(0, 1, 1)),
                        "uid_map[0]", "runs past the last id"),
                rule("an image's root unmapped", c -> c.clearHostRootfs().setImage(ImageReference.newBuilder()
                        .setRepository("busybox")).addUidMap(idMap(1, 100000, 100)).addGidMap(idMap(0, 1, 1)),
                        "uid_map", "maps no container id 0"),
                rule("a private user namespace for a VM task", c -> c.setIsolation(Isolation.VM)
                        .addUidMap(idMap(0, 100000, 1)).addGidMap(idMap(0, 100000, 1)), "userns",
                        "private is for process containers"),
                rule("unknown restart policy", c -> c.setRestart(RestartPolicy.newBuilder().setPolicy("sometimes")),
                        "restart.policy", "'sometimes' is not a restart policy"),
                rule("negative restart count", c -> c.setRestart(RestartPolicy.newBuilder().setPolicy("on-failure")
                        .setMaxRetries(-1)), "restart.max_retries", "negative"),
                rule("a count for always", c -> c.setRestart(RestartPolicy.newBuilder().setPolicy("always")
                        .setMaxRetries(2)), "restart.max_retries", "only on-failure takes a count"),
                rule("a restarted nested container", c -> c.setParentId("outer")
                        .setRestart(RestartPolicy.newBuilder().setPolicy("always")), "restart.policy", "nested"),
                rule("unknown stop signal", c -> c.setStopSignal("SIGFOO"), "stop_signal", "'SIGFOO' is not a signal"),
                rule("stop signal out of range", c -> c.setStopSignal("0"), "stop_signal", "is not a signal"),
                rule("negative stop timeout", c -> c.setStopTimeoutSeconds(-1), "stop_timeout_seconds", "from 0 to 3600"),
                rule("stop timeout over an hour", c -> c.setStopTimeoutSeconds(3601), "stop_timeout_seconds",
                        "from 0 to 3600"),
                rule("userns auto for a VM task", c -> c.setIsolation(Isolation.VM).setUserns("auto"), "userns",
                        "auto is for process containers"),
                rule("userns auto for a nested container", c -> c.setParentId("outer").setUserns("auto"), "userns",
                        "not for a nested container"),
                rule("empty id", c -> c.setId(""), "id", "must not be empty"),
                rule("id with a slash", c -> c.setId("a/b"), "id", "must not contain '/'"),
                rule("id with dot-dot", c -> c.setId("a..b"), "id", "must not contain '..'"),
                rule("id that is dot-dot", c -> c.setId(".."), "id", "must not contain '..'"),
                rule("id with a space", c -> c.setId("a b"), "id", "letters, digits"),
                rule("id too long", c -> c.setId("a".repeat(129)), "id", "1 to 128"),
                rule("unspecified isolation", c -> c.setIsolation(Isolation.ISOLATION_UNSPECIFIED), "isolation",
                        "must be PROCESS or VM"),
                rule("unknown isolation", c -> c.setIsolationValue(7), "isolation", "unknown isolation 7"),
                rule("empty command without an image", c -> c.clearCommand().clearArgs(), "command", "must not be empty"),
                rule("empty executable", c -> c.setCommand(0, ""), "command[0]", "must not be an empty string"),
                rule("NUL in an argument", c -> c.setArgs(1, "a\0b"), "args[1]", "NUL"),
                rule("no root filesystem", c -> c.clearRoot(), "image", "needs a root filesystem"),
                rule("relative host rootfs", c -> c.setHostRootfs("srv/rootfs"), "host_rootfs", "must be an absolute path"),
                rule("image without repository", c -> c.setImage(ImageReference.newBuilder().setTag("1")),
                        "image.repository", "must not be empty"),
                rule("malformed image digest", c -> c.setImage(ImageReference.newBuilder().setRepository("busybox")
                        .setDigest("sha256:xyz")), "image.digest", "is not a digest"),
                rule("OCI layout without a path", c -> c.setImage(ImageReference.newBuilder()
                        .setSource(ImageSource.OCI_LAYOUT)), "image.path", "must not be empty"),
                rule("negative memory", c -> res(c, r -> r.setMemoryBytes(-1)), "resources.memory_bytes",
                        "must not be negative"),
                rule("absurdly small memory", c -> res(c, r -> r.setMemoryBytes(64)), "resources.memory_bytes",
                        "too little to run anything"),
                rule("absurdly large memory", c -> res(c, r -> r.setMemoryBytes(1L << 50)),
                        "resources.memory_bytes", "exceeds this node's memory"),
                rule("negative cpus", c -> res(c, r -> r.setCpus(-0.5)), "resources.cpus", "0 or more"),
                rule("NaN cpus", c -> res(c, r -> r.setCpus(Double.NaN)), "resources.cpus", "finite"),
                rule("more cpus than the node", c -> res(c, r -> r.setCpus(64)), "resources.cpus",
                        "exceeds this node's 2 CPUs"),
                rule("negative disk", c -> res(c, r -> r.setDiskBytes(-5)), "resources.disk_bytes",
                        "must not be negative"),
                rule("negative pids other than -1", c -> res(c, r -> r.setPids(-2)), "resources.pids",
                        "0 (the default, 2048) or -1 (no limit), got -2"),
                rule("negative gpus", c -> res(c, r -> r.setGpus(-1)), "resources.gpus", "must not be negative"),
                rule("gpu address in upper case", c -> res(c, r -> r.addGpuAddresses("0000:4A:00.0")),
                        "resources.gpu_addresses[0]", "is not a PCI address"),
                rule("gpu address without its domain", c -> res(c, r -> r.addGpuAddresses("41:00.0")),
                        "resources.gpu_addresses[0]", "is not a PCI address"),
                rule("gpu address listed twice", c -> res(c, r -> r.addGpuAddresses("0000:41:00.0")
                        .addGpuAddresses("0000:41:00.0")), "resources.gpu_addresses[1]", "is listed twice"),
                rule("gpu count that is not the addresses' number", c -> res(c, r -> r.setGpus(2)
                        .addGpuAddresses("0000:41:00.0")), "resources.gpus", "give 0 or their number"),
                rule("gpu address in upper case in a VM task", c -> res(c.setIsolation(Isolation.VM),
                        r -> r.addGpuAddresses("0000:4A:00.0")), "resources.gpu_addresses[0]", "is not a PCI address"),
                rule("env key with '='", c -> c.addEnv(EnvVar.newBuilder().setName("A=B").setValue("x")),
                        "env[0].name", "must not contain '='"),
                rule("empty env key", c -> c.addEnv(EnvVar.newBuilder().setValue("x")), "env[0].name", "must not be empty"),
                rule("env key set twice", c -> c.addEnv(EnvVar.newBuilder().setName("A")).addEnv(EnvVar.newBuilder()
                        .setName("A")), "env[1].name", "is set twice"),
                rule("relative working dir", c -> c.setWorkingDir("tmp"), "working_dir", "must be an absolute path"),
                rule("malformed user", c -> c.setUser("a:b:c"), "user", "uid[:gid]"),
                rule("a group by number given as a name", c -> c.addAdditionalGroups("audio").addAdditionalGroups("44"),
                        "additional_groups[1]", "a number goes in additional_gids"),
                rule("a group name with a colon", c -> c.addAdditionalGroups("a:b"), "additional_groups[0]",
                        "must be a group's name"),
                rule("volume target not absolute", c -> c.addVolumes(hostVolume("data")), "volumes[0].target",
                        "must be an absolute path"),
                rule("volume target escaping with dot-dot", c -> c.addVolumes(hostVolume("/data/../../etc")),
                        "volumes[0].target", "must not contain '..'"),
                rule("volume on the root", c -> c.addVolumes(hostVolume("/")), "volumes[0].target", "must not be '/'"),
                rule("two volumes on one target", c -> c.addVolumes(hostVolume("/data")).addVolumes(hostVolume("/data/")),
                        "volumes[1].target", "target of another volume"),
                rule("volume without source", c -> c.addVolumes(Volume.newBuilder().setTarget("/data")), "volumes[0]",
                        "needs a source"),
                rule("host path not absolute", c -> c.addVolumes(Volume.newBuilder().setTarget("/d")
                        .setHostPath(HostPathVolume.newBuilder().setPath("srv"))), "volumes[0].host_path.path",
                        "must be an absolute path"),
                rule("negative tmpfs size", c -> c.addVolumes(Volume.newBuilder().setTarget("/t")
                        .setTmpfs(TmpfsVolume.newBuilder().setSizeBytes(-1))), "volumes[0].tmpfs.size_bytes",
                        "must not be negative"),
                rule("tmpfs mode beyond permission bits", c -> c.addVolumes(Volume.newBuilder().setTarget("/t")
                        .setTmpfs(TmpfsVolume.newBuilder().setMode(010000))), "volumes[0].tmpfs.mode",
                        "at most 07777), got 010000"),
                rule("persistent volume name with a slash", c -> c.addVolumes(Volume.newBuilder().setTarget("/p")
                        .setPersistent(PersistentVolume.newBuilder().setName("../x"))), "volumes[0].persistent.name",
                        "must not contain '/'"),
                rule("docker volume without driver", c -> c.addVolumes(Volume.newBuilder().setTarget("/v")
                        .setDocker(DockerVolume.newBuilder().setName("v"))), "volumes[0].docker.driver", "must not be empty"),
                rule("bad network name", c -> c.addNetworks(NetworkAttachment.newBuilder().setNetwork("bad name")),
                        "networks[0].network", "is not a network name"),
                rule("port out of range", c -> c.addNetworks(NetworkAttachment.newBuilder().setNetwork("n")
                        .addPorts(PortMapping.newBuilder().setHostPort(70000).setContainerPort(80))),
                        "networks[0].ports[0].host_port", "is not a port"),
                rule("unknown port protocol", c -> c.addNetworks(NetworkAttachment.newBuilder().setNetwork("n")
                        .addPorts(PortMapping.newBuilder().setHostPort(8080).setContainerPort(80).setProtocol("sctp"))),
                        "networks[0].ports[0].protocol", "must be tcp or udp"),
                rule("host ip not an address", c -> c.addNetworks(NetworkAttachment.newBuilder().setNetwork("n")
                        .addPorts(PortMapping.newBuilder().setHostPort(8080).setContainerPort(80).setHostIp("localhost"))),
                        "networks[0].ports[0].host_ip", "is not an IP address"),
                rule("host next to another network", c -> c.addNetworks(NetworkAttachment.newBuilder().setNetwork("n"))
                        .addNetworks(NetworkAttachment.newBuilder().setNetwork("host")),
                        "networks[1]", "'host' cannot be combined with other networks"),
                rule("none next to another network", c -> c.addNetworks(NetworkAttachment.newBuilder().setNetwork("none"))
                        .addNetworks(NetworkAttachment.newBuilder().setNetwork("n")),
                        "networks[0]", "'none' cannot be combined with other networks"),
                rule("port mapping on none", c -> c.addNetworks(NetworkAttachment.newBuilder().setNetwork("none")
                        .addPorts(PortMapping.newBuilder().setHostPort(8080).setContainerPort(80))),
                        "networks[0].ports", "port mappings need a CNI network; 'none' has none"),
                rule("port mapping on host", c -> c.addNetworks(NetworkAttachment.newBuilder().setNetwork("host")
                        .addPorts(PortMapping.newBuilder().setHostPort(8080).setContainerPort(80))),
                        "networks[0].ports", "port mappings need a CNI network; 'host' has none"),
                rule("host in a VM task", c -> c.setIsolation(Isolation.VM)
                        .addNetworks(NetworkAttachment.newBuilder().setNetwork("host")),
                        "networks[0]", "a VM task cannot share the host's network namespace"),
                rule("unknown capability", c -> c.setCapabilities(Capabilities.newBuilder().addAdd("CAP_FLY")),
                        "capabilities.add[0]", "is not a Linux capability"),
                rule("capability added and dropped", c -> c.setCapabilities(Capabilities.newBuilder()
                        .addAdd("CAP_NET_ADMIN").addDrop("net_admin")), "capabilities.drop[0]", "both added and dropped"),
                rule("unknown rlimit", c -> c.addRlimits(Rlimit.newBuilder().setType("RLIMIT_COFFEE")),
                        "rlimits[0].type", "is not a resource limit"),
                rule("rlimit soft above hard", c -> c.addRlimits(Rlimit.newBuilder().setType("nofile").setSoft(10)
                        .setHard(5)), "rlimits[0].soft", "exceeds the hard limit"),
                rule("bad hostname", c -> c.setHostname("-web"), "hostname", "is not a valid host name"),
                rule("vm options on a process container", c -> c.setVm(VmOptions.newBuilder().setVcpus(1)), "vm",
                        "only valid with isolation VM"),
                rule("vm options on a VM pod's member", c -> c.setIsolation(Isolation.VM).setParentId("pod")
                        .setVm(VmOptions.newBuilder().setVcpus(1)), "vm", "runs in its pod's VM"),
                rule("a cpuset on a VM pod's member", c -> res(c.setIsolation(Isolation.VM).setParentId("pod"),
                        r -> r.setCpusetCpus("1")), "resources.cpuset_cpus", "runs on its pod's vCPUs"),
                rule("a host path on a VM pod's member", c -> c.setIsolation(Isolation.VM).setParentId("pod")
                        .addVolumes(Volume.newBuilder().setTarget("/tmp/t").setTmpfs(TmpfsVolume.getDefaultInstance()))
                        .addVolumes(hostVolume("/data")), "volumes[1]", "tmpfs volumes only"),
                rule("an image's rootfs served with its owners", c -> c.setIsolation(Isolation.VM).clearHostRootfs()
                        .setImage(ImageReference.newBuilder().setRepository("busybox"))
                        .setVm(VmOptions.newBuilder().setKeepRootfsOwners(true)), "vm.keep_rootfs_owners",
                        "applies to a host_rootfs"),
                rule("a VM pod's member's rootfs served with its owners", c -> c.setIsolation(Isolation.VM)
                        .setParentId("pod").setVm(VmOptions.newBuilder().setKeepRootfsOwners(true)),
                        "vm.keep_rootfs_owners", "serves no rootfs of its own"),
                rule("too many vcpus", c -> c.setIsolation(Isolation.VM).setVm(VmOptions.newBuilder().setVcpus(1000)),
                        "vm.vcpus", "must be between 1 and 255"),
                rule("too little guest memory", c -> c.setIsolation(Isolation.VM).setVm(VmOptions.newBuilder()
                        .setMemoryBytes(1 << 20)), "vm.memory_bytes", "too little to run anything"),
                rule("relative kernel path", c -> c.setIsolation(Isolation.VM).setVm(VmOptions.newBuilder()
                        .setKernel("vmlinux")), "vm.kernel", "must be an absolute path"),
                rule("disks on a process container", c -> c.setVm(VmOptions.newBuilder().addDisks(disk("/data"))),
                        "vm", "only valid with isolation VM"),
                rule("relative disk path", c -> vmDisk(c, disk("/data").setPath("disk.img")), "vm.disks[0].path",
                        "must be an absolute path"),
                rule("empty disk path", c -> vmDisk(c, disk("/data").setPath("")), "vm.disks[0].path",
                        "must not be empty"),
                rule("one disk attached twice", c -> vmDisk(vmDisk(c, disk("/a")), disk("/b")), "vm.disks[1].path",
                        "attached twice"),
                rule("unknown disk format", c -> vmDisk(c, disk("/data").setFormat("vmdk")), "vm.disks[0].format",
                        "not a disk format"),
                rule("relative disk target", c -> vmDisk(c, disk("data")), "vm.disks[0].target",
                        "must be an absolute path"),
                rule("disk on the root", c -> vmDisk(c, disk("/")), "vm.disks[0].target", "must not be '/'"),
                rule("disk on a volume's target", c -> vmDisk(c.addVolumes(hostVolume("/data")), disk("/data/")),
                        "vm.disks[0].target", "target of a volume or another disk"),
                rule("two disks on one target", c -> vmDisk(vmDisk(c, disk("/data")), disk("/data").setPath("/var/lib/other.img")),
                        "vm.disks[1].target", "target of a volume or another disk"),
                rule("unknown disk filesystem", c -> vmDisk(c, disk("/data").setFsType("ntfs")), "vm.disks[0].fs_type",
                        "not a filesystem the guest kernel has"),
                rule("disk filesystem without a target", c -> vmDisk(c, disk("").setFsType("ext4")),
                        "vm.disks[0].fs_type", "only meaningful with a target"),
                rule("bad network name in a VM task", c -> c.setIsolation(Isolation.VM)
                        .addNetworks(NetworkAttachment.newBuilder().setNetwork("bad name")),
                        "networks[0].network", "is not a network name"),
                rule("uri in a VM pod's member", c -> c.setIsolation(Isolation.VM).setParentId("pod-1")
                        .addUris(FetchUri.newBuilder().setUri("https://x/y")), "uris", "a VM pod's member gets no sandbox"),
                rule("volume on the sandbox", c -> c.addUris(FetchUri.newBuilder().setUri("https://x/y"))
                        .addVolumes(hostVolume("/vessel/sandbox/")), "volumes[0].target", "fetched uris"),
                rule("own parent", c -> c.setParentId("web-1"), "parent_id", "cannot be its own parent"),
                rule("uri without scheme", c -> c.addUris(FetchUri.newBuilder().setUri("just/a/path")), "uris[0].uri",
                        "has no scheme"),
                rule("uri that does not parse", c -> c.addUris(FetchUri.newBuilder().setUri("http://a b")),
                        "uris[0].uri", "is not a URI"),
                rule("uri digest malformed", c -> c.addUris(FetchUri.newBuilder().setUri("https://x/y")
                        .setExpectedDigest("md5")), "uris[0].expected_digest", "is not a digest"),
                rule("uri output escaping the sandbox", c -> c.addUris(FetchUri.newBuilder().setUri("https://x/y")
                        .setOutputFile("../y")), "uris[0].output_file", "plain file name"),
                rule("empty label key", c -> c.putLabels("", "v"), "labels", "must not be empty"),
                rule("seccomp profile and unconfined", c -> c.setSeccomp(Seccomp.newBuilder().setUnconfined(true)
                        .setProfileJson("{\"defaultAction\": \"SCMP_ACT_ALLOW\"}")), "seccomp", "not both"),
                rule("seccomp profile too big", c -> c.setSeccomp(Seccomp.newBuilder()
                        .setProfileJson(" ".repeat(ConfigValidator.MAX_SECCOMP_PROFILE_CHARS + 1))),
                        "seccomp.profile_json", "at most 1048576"),
                rule("seccomp profile malformed", c -> c.setSeccomp(Seccomp.newBuilder()
                        .setProfileJson("{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"mkdir\"],"
                                + " \"action\": \"SCMP_ACT_ALLOW\", \"args\": [{\"index\": 6, \"value\": 0,"
                                + " \"op\": \"SCMP_CMP_EQ\"}]}]}")),
                        "seccomp.profile_json", "$.syscalls[0].args[0].index: must be an argument index from 0 to 5"),
                rule("device permissions not of rwm", c -> c.addDevices(device("/dev/zero", "/dev/z", "rwx")),
                        "devices[0].permissions", "'rwx' must be letters of rwm"),
                rule("device permission letter twice", c -> c.addDevices(device("/dev/zero", "/dev/z", "rr")),
                        "devices[0].permissions", "must be letters of rwm"),
                rule("device host path a regular file", c -> c.addDevices(device("/etc/passwd", "/dev/z", "")),
                        "devices[0].host_path", "'/etc/passwd' is not a character or block device"),
                rule("device host path a directory", c -> c.addDevices(device("/dev", "/dev/z", "")),
                        "devices[0].host_path", "is not a character or block device"),
                rule("device host path absent", c -> c.addDevices(device("/dev/no-such-node", "/dev/z", "")),
                        "devices[0].host_path", "does not exist on this node"),
                rule("device host path relative", c -> c.addDevices(device("dev/zero", "/dev/z", "")),
                        "devices[0].host_path", "must be an absolute path"),
                rule("device path relative", c -> c.addDevices(device("/dev/zero", "dev/z", "")),
                        "devices[0].path", "must be an absolute path"),
                rule("device path not clean", c -> c.addDevices(device("/dev/zero", "/dev//z/", "")),
                        "devices[0].path", "must be a clean path"),
                rule("device path with a dot", c -> c.addDevices(device("/dev/zero", "/dev/./z", "")),
                        "devices[0].path", "must be a clean path"),
                rule("device path /dev", c -> c.addDevices(device("/dev/zero", "/dev", "")),
                        "devices[0].path", "not a place for a node"),
                rule("device path twice", c -> c.addDevices(device("/dev/zero", "/dev/z", ""))
                        .addDevices(device("/dev/null", "/dev/z", "r")), "devices[1].path", "is the path of another device"),
                rule("device path twice, one by default", c -> c.addDevices(device("/dev/zero", "", ""))
                        .addDevices(device("/dev/null", "/dev/zero", "")), "devices[1].path", "another device"),
                rule("device path a volume's", c -> c.addVolumes(hostVolume("/dev/z"))
                        .addDevices(device("/dev/zero", "/dev/z", "")), "devices[0].path", "is the target of a volume"),
                rule("device in a VM", c -> c.setIsolation(Isolation.VM).addDevices(device("/dev/zero", "", "")),
                        "devices", "host devices cannot enter a VM; whole GPUs: --gpus"));
    }

    static Device.Builder device(String hostPath, String path, String permissions) {
        return Device.newBuilder().setHostPath(hostPath).setPath(path).setPermissions(permissions);
    }

    @Test
    void hostDevicesTakePodmansDefaults() {
        assertDoesNotThrow(() -> validator.validate(valid().addDevices(device("/dev/zero", "/dev/myzero", "r"))
                .addDevices(device("/dev/null", "", "")).addDevices(device("/dev/full", "/full", "mwr")).build()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("rules")
    void refuses(UnaryOperator<ContainerConfig.Builder> breakIt, String field, String problem) {
        ContainerConfig config = breakIt.apply(valid()).build();
        ValidationException e = assertThrows(ValidationException.class, () -> validator.validate(config));
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals(field, e.violations().getFirst().field(), e.getMessage());
        assertTrue(e.violations().getFirst().problem().contains(problem), e.getMessage());
        assertTrue(e.getMessage().startsWith(field + ": "), e.getMessage());
    }

    @Test
    void anUpdateChangesHugePageLimitsButNotWhetherThereAreAny() {
        ContainerConfig huge = res(valid(), r -> r.putHugepageLimits("2MB", 0)).build();
        assertDoesNotThrow(() -> validator.validateUpdate(huge, Resources.newBuilder()
                .putHugepageLimits("2MB", 4L << 20).build()));
        ValidationException dropped = assertThrows(ValidationException.class,
                () -> validator.validateUpdate(huge, Resources.newBuilder().setCpus(1).build()));
        assertTrue(dropped.getMessage().startsWith("resources.hugepage_limits: the container was created with huge"
                + " page limits"), dropped.getMessage());
        ValidationException added = assertThrows(ValidationException.class, () -> validator.validateUpdate(
                valid().build(), Resources.newBuilder().putHugepageLimits("2MB", 0).build()));
        assertTrue(added.getMessage().contains("created without huge page limits"), added.getMessage());
        ValidationException both = assertThrows(ValidationException.class, () -> validator.validateUpdate(
                valid().build(), Resources.newBuilder().setCpus(-1).build()));
        assertTrue(both.getMessage().startsWith("resources.cpus: "), "the config's own checks run too: " + both);
    }

    @Test
    void aFullVmsUpdateChangesItsCpuWeightAndLimitAlone() {
        ContainerConfig vm = machine(machineOptions()).setResources(Resources.newBuilder().setCpuShares(512)).build();
        assertDoesNotThrow(() -> validator.validateUpdate(vm, Resources.newBuilder().setCpuShares(2048).build()));
        assertDoesNotThrow(() -> validator.validateUpdate(vm, Resources.newBuilder().setCpus(0.5).build()));
        assertDoesNotThrow(() -> validator.validateUpdate(vm, Resources.getDefaultInstance()));
        for (Resources resized : List.of(Resources.newBuilder().setCpuShares(512).setMemoryBytes(1L << 30).build(),
                Resources.newBuilder().setPids(10).build(), Resources.newBuilder().setCpusetCpus("0").build())) {
            ValidationException e = assertThrows(ValidationException.class,
                    () -> validator.validateUpdate(vm, resized));
            assertTrue(e.getMessage().startsWith("resources: a full VM (vm.machine) changes only resources.cpu_shares"
                    + " and resources.cpus"), e.getMessage());
        }
    }

    @Test
    void aVmTasksUpdateKeepsItsPinning() {
        ContainerConfig pinned = valid().setIsolation(Isolation.VM)
                .setResources(Resources.newBuilder().setCpusetCpus("0").setCpusetMems("0")).build();
        assertDoesNotThrow(() -> validator.validateUpdate(pinned, Resources.newBuilder().setCpusetCpus("0")
                .setCpusetMems("0").setCpus(0.5).setCpuShares(300).build()));
        ValidationException moved = assertThrows(ValidationException.class, () -> validator.validateUpdate(pinned,
                Resources.newBuilder().setCpusetCpus("0-1").build()));
        assertTrue(moved.getMessage().startsWith("resources.cpuset_cpus: a VM task's CPUs and memory nodes pin its VM"),
                moved.getMessage());
        assertTrue(moved.getMessage().contains("resources.cpuset_mems: "), "unpinning its memory: " + moved);
        ContainerConfig free = valid().setIsolation(Isolation.VM).build();
        assertThrows(ValidationException.class, () -> validator.validateUpdate(free, Resources.newBuilder()
                .setCpusetCpus("0").build()));
        assertDoesNotThrow(() -> validator.validateUpdate(valid().build(), Resources.newBuilder().setCpusetCpus("0")
                .build()), "a process container's cpuset changes live");
    }

    @Test
    void acceptsAValidConfig() {
        assertDoesNotThrow(() -> validator.validate(valid()
                .addEnv(EnvVar.newBuilder().setName("PATH").setValue("/bin"))
                .addVolumes(hostVolume("/data").setReadOnly(true))
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("bridge0")
                        .addPorts(PortMapping.newBuilder().setHostPort(8080).setContainerPort(80).setHostIp("127.0.0.1")))
                .setCapabilities(Capabilities.newBuilder().addDrop("CAP_CHOWN").addAdd("net_admin"))
                .addRlimits(Rlimit.newBuilder().setType("RLIMIT_NOFILE").setSoft(1024).setHard(4096))
                .setHostname("web-1.local")
                .setUser("1000:1000")
                .setWorkingDir("/srv")
                .setUserns("auto")
                .build()));
        assertDoesNotThrow(() -> validator.validate(valid().setUserns("host").build()));
        // what Kubernetes sends: a limit for each of the node's sizes, 0 where none was asked for; a VM task takes 0
        assertDoesNotThrow(() -> validator.validate(res(valid(), r -> r.putHugepageLimits("2MB", 4L << 20)
                .putHugepageLimits("1GB", 0)).build()));
        assertDoesNotThrow(() -> validator.validate(res(valid().setIsolation(Isolation.VM),
                r -> r.putHugepageLimits("2MB", 0)).build()));
        assertDoesNotThrow(() -> validator.validate(valid().setIsolation(Isolation.VM).addDnsServers("192.0.2.53")
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("bridge0")).build()), "a VM task on a network");
        for (String cpus : List.of("0", "1", "0-1", "0,1", "1,0", " 0-1 ", "0-0,1")) {
            assertDoesNotThrow(() -> validator.validate(res(valid(), r -> r.setCpusetCpus(cpus).setCpusetMems("0"))
                    .build()), cpus);
        }
        for (String signal : List.of("SIGTERM", "term", "9", "SIGRTMIN+3", "RTMAX-1")) {
            assertDoesNotThrow(() -> validator.validate(valid().setInit(true).setStopSignal(signal)
                    .setStopTimeoutSeconds(30).setRestart(RestartPolicy.newBuilder().setPolicy("on-failure")
                            .setMaxRetries(3)).build()), signal);
        }
        for (String policy : List.of("", "no", "always")) {
            assertDoesNotThrow(() -> validator.validate(valid().setRestart(RestartPolicy.newBuilder()
                    .setPolicy(policy)).build()), policy);
        }
    }

    @Test
    void namespacedSysctlsAreAcceptedForATaskAPodAndAVmTask() {
        for (ContainerConfig.Builder c : List.of(valid(), valid().clearCommand().clearArgs().clearRoot().setPod(true),
                valid().setIsolation(Isolation.VM), valid().setNetworkNamespacePath("/run/netns/engine"))) {
            assertDoesNotThrow(() -> validator.validate(c.putSysctls("net.ipv4.ping_group_range", "0 2147483647")
                    .putSysctls("net.ipv4.conf.eth0.forwarding", "1").putSysctls("kernel.shmmax", "68719476736")
                    .putSysctls("fs.mqueue.msg_max", "100").putSysctls("kernel.shm_rmid_forced", "1").build()),
                    c::toString);
        }
    }

    @Test
    void aProcessContainerMayAskForGpusByCountOrByAddress() {
        assertDoesNotThrow(() -> validator.validate(res(valid(), r -> r.setGpus(2)).build()));
        assertDoesNotThrow(() -> validator.validate(res(valid(), r -> r.addGpuAddresses("0000:41:00.0")
                .addGpuAddresses("0000:c1:00.0")).build()));
        assertDoesNotThrow(() -> validator.validate(res(valid(), r -> r.setGpus(1)
                .addGpuAddresses("0000:41:00.0")).build()));
    }

    @Test
    void aVmTaskAndAFullVmMayAskForGpusByCountOrByAddress() {
        assertDoesNotThrow(() -> validator.validate(res(valid().setIsolation(Isolation.VM), r -> r.setGpus(2)).build()));
        assertDoesNotThrow(() -> validator.validate(res(machine(machineOptions()), r -> r.addGpuAddresses("0000:41:00.0")).build()));
    }

    @Test
    void pidsMinusOneMeansNoLimitAndAReadOnlyRootfsTakesTmpfsOptions() {
        assertDoesNotThrow(() -> validator.validate(res(valid(), r -> r.setPids(-1)).setReadOnlyRootfs(true)
                .addVolumes(Volume.newBuilder().setTarget("/scratch")
                        .setTmpfs(TmpfsVolume.newBuilder().setSizeBytes(1 << 20).setMode(0700).setNoexec(true)))
                .build()));
    }

    @Test
    void anImageMayStandInForTheCommand() {
        assertDoesNotThrow(() -> validator.validate(valid().clearCommand().clearArgs()
                .setImage(ImageReference.newBuilder().setRepository("library/busybox").setTag("1.36")).build()));
    }

    @Test
    void aFullVmNeedsNeitherCommandNorRootfs() {
        assertDoesNotThrow(() -> validator.validate(machine(machineOptions()).build()));
        assertDoesNotThrow(() -> validator.validate(machine(machineOptions().setDiskSizeBytes(8L << 30)
                .setCloudInit(CloudInit.newBuilder().setInstanceId("i-1").setUserData("#cloud-config\n")
                        .addSshAuthorizedKeys("ssh-ed25519 AAAAC3Nz user@host"))).setHostname("web-1").build()));
    }

    @Test
    void aFullVmsBadImagesAndSeedsAreRefusedNamingTheField() {
        assertRefused("vm.machine.base_format", machine(machineOptions().clearBaseFormat()));
        assertRefused("init", machine(machineOptions()).setInit(true));
        assertRefused("vm.machine.base_format", machine(machineOptions().setBaseFormat("vmdk")));
        assertRefused("vm.machine.base_image", machine(machineOptions().setBaseImage("base.qcow2")));
        assertRefused("vm.machine.disk", machine(machineOptions().setDisk("/var/lib/vm/base.qcow2")));
        assertRefused("vm.machine.disk", machine(machineOptions().clearDisk()));
        assertRefused("vm.machine.disk_size_bytes", machine(machineOptions().setDiskSizeBytes(-1)));
        assertRefused("vm.machine.cloud_init.instance_id", machine(machineOptions()
                .setCloudInit(CloudInit.newBuilder().setInstanceId("two words"))));
        assertRefused("vm.machine.cloud_init.user_data", machine(machineOptions()
                .setCloudInit(CloudInit.newBuilder().setUserData("x".repeat(64 * 1024 + 1)))));
        assertRefused("vm.machine.cloud_init.ssh_authorized_keys[1]", machine(machineOptions()
                .setCloudInit(CloudInit.newBuilder().addSshAuthorizedKeys("ssh-rsa AAAA a").addSshAuthorizedKeys("a\nb"))));
        assertRefused("command", machine(machineOptions()).addCommand("/bin/true"));
        assertRefused("image", machine(machineOptions())
                .setImage(ImageReference.newBuilder().setRepository("library/busybox").setTag("1.36")));
        assertRefused("vm.kernel", machine(machineOptions()).setVm(VmOptions.newBuilder().setKernel("/boot/vmlinuz")
                .setMachine(machineOptions())));
        assertRefused("volumes", machine(machineOptions()).addVolumes(hostVolume("/data")));
        assertRefused("tty", machine(machineOptions()).setTty(true));
        assertRefused("interactive", machine(machineOptions()).setInteractive(true));
    }

    @Test
    void aTaskMayHaveATerminalAndAnOpenStdin() {
        assertDoesNotThrow(() -> validator.validate(valid().setTty(true).setInteractive(true).build()));
        assertDoesNotThrow(() -> validator.validate(valid().setIsolation(Isolation.VM).setTty(true).build()));
    }

    /** Refused naming {@code field} first (other violations of the same config may follow). */
    private void assertRefused(String field, ContainerConfig.Builder config) {
        ValidationException e = assertThrows(ValidationException.class, () -> validator.validate(config.build()));
        assertTrue(e.violations().stream().anyMatch(v -> v.field().equals(field)), e::getMessage);
    }

    private static VmMachine.Builder machineOptions() {
        return VmMachine.newBuilder().setBaseImage("/var/lib/vm/base.qcow2").setBaseFormat("qcow2")
                .setDisk("/var/lib/vm/web-1.qcow2");
    }

    private static ContainerConfig.Builder machine(VmMachine.Builder machine) {
        return valid().clearCommand().clearArgs().clearRoot().setIsolation(Isolation.VM)
                .setVm(VmOptions.newBuilder().setVcpus(2).setMemoryBytes(512L << 20).setMachine(machine));
    }

    @Test
    void aVmTaskTakesPortMappings() {
        assertDoesNotThrow(() -> validator.validate(valid().setIsolation(Isolation.VM)
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("a")
                        .addPorts(PortMapping.newBuilder().setHostPort(8080).setContainerPort(80)))
                .build()));
    }

    @Test
    void aVmTaskTakesVolumesOfEveryKindAndDisks() {
        assertDoesNotThrow(() -> validator.validate(valid().setIsolation(Isolation.VM)
                .addVolumes(hostVolume("/data").setReadOnly(true))
                .addVolumes(Volume.newBuilder().setTarget("/scratch").setTmpfs(TmpfsVolume.newBuilder().setSizeBytes(1 << 20)))
                .addVolumes(Volume.newBuilder().setTarget("/kept").setPersistent(PersistentVolume.newBuilder().setName("kept")))
                .addVolumes(Volume.newBuilder().setTarget("/shared").setDocker(DockerVolume.newBuilder()
                        .setDriver("local").setName("shared")))
                .setVm(VmOptions.newBuilder()
                        .addDisks(disk("/mnt/data").setFsType("ext4").setReadOnly(true))
                        .addDisks(disk("/mnt/cache").setPath("/var/lib/disks/cache.qcow2").setFormat("qcow2"))
                        .addDisks(disk("").setPath("/dev/vg0/scratch").setFormat("raw")))
                .build()));
    }

    @Test
    void aHostPathBindTakesOnlyOptionsThatTakeRightsAway() {
        Volume.Builder bind = Volume.newBuilder().setTarget("/data")
                .setHostPath(HostPathVolume.newBuilder().setPath("/srv").addOptions("nosuid").addOptions("noexec"));
        assertDoesNotThrow(() -> validator.validate(valid().addVolumes(bind).build()));
        bind.getHostPathBuilder().addOptions("suid");
        assertRefused("volumes[0].host_path.options[2]", valid().addVolumes(bind));
    }

    @Test
    void aJoinedNetworkNamespaceIsAnAbsolutePathWithoutNetworks() {
        assertDoesNotThrow(() -> validator.validate(valid().setNetworkNamespacePath("/run/netns/x").build()));
        assertDoesNotThrow(() -> validator.validate(valid().setIsolation(Isolation.VM)
                .setNetworkNamespacePath("/run/netns/x").build()), "a VM container's NICs on an engine's namespace");
        assertRefused("network_namespace_path", valid().setNetworkNamespacePath("netns/x"));
        assertRefused("network_namespace_path", valid().setNetworkNamespacePath("/run/netns/x")
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("none")));
    }

    @Test
    void aVmTaskMayJoinNetworks() {
        assertDoesNotThrow(() -> validator.validate(valid().setIsolation(Isolation.VM)
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("net1"))
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("net2")).build()));
    }

    @Test
    void hostAndNoneStandAlone() {
        for (String reserved : List.of("host", "none")) {
            assertDoesNotThrow(() -> validator.validate(valid()
                    .addNetworks(NetworkAttachment.newBuilder().setNetwork(reserved)).build()), reserved);
        }
        assertDoesNotThrow(() -> validator.validate(valid().setIsolation(Isolation.VM)
                .addNetworks(NetworkAttachment.newBuilder().setNetwork("none")).build()));
    }

    @Test
    void everyProblemIsListed() {
        ValidationException e = assertThrows(ValidationException.class, () -> validator.validate(valid()
                .setId("a/b").setWorkingDir("rel").build()));
        assertEquals(2, e.violations().size());
        assertTrue(e.getMessage().contains("working_dir: 'rel' must be an absolute path"), e.getMessage());
    }
}
