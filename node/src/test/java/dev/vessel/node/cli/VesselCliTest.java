package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.linux.CgroupHierarchies;
import dev.vessel.node.cli.CliNode.Result;
import dev.vessel.provisioner.registry.Credentials;
import dev.vessel.provisioner.registry.DockerConfigCredentials;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The vessel CLI, run in-process (and once as its own JVM, for Ctrl-C) against a real daemon. */
class VesselCliTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static CliNode node;
    static Path rootfs;
    static String host;

    @BeforeAll
    static void startDaemon() throws Exception {
        node = CliNode.start(tmp, "cli");
        rootfs = node.rootfs();
        host = node.host();
    }

    @AfterAll
    static void stopDaemon() throws Exception {
        if (node != null) {
            node.close();
        }
    }

    static Result vessel(String... args) {
        return node.vessel(args);
    }

    static Result vesselWith(Map<String, String> env, String stdin, String... args) {
        return node.vesselWith(env, stdin, args);
    }

    static JsonNode inspect(String id) throws Exception {
        Result r = vessel("inspect", "--json", id);
        assertEquals(0, r.code(), r::toString);
        return JSON.readTree(r.out());
    }

    @Test
    void everyCommandAnswersHelpAndTheCliItsVersion() {
        for (String command : List.of("run", "exec", "attach", "ps", "inspect", "logs", "kill", "rm", "pull", "images", "rmi", "gc",
                "info", "login", "logout")) {
            Result help = vessel(command, "--help");
            assertEquals(0, help.code(), help::toString);
            assertTrue(help.out().contains("Usage: vessel " + command), help::toString);
        }
        assertTrue(vessel("run", "--help").out().contains("--vm"));
        assertTrue(vessel("run", "--help").out().contains("--fetch"));
        assertTrue(vessel("pull", "--help").out().contains("--creds"));
        Result version = vessel("--version");
        assertEquals(0, version.code(), version::toString);
        assertTrue(version.out().startsWith("vessel"), version::toString);
    }

    @Test
    void foregroundRunStreamsOutputAndExitsWithTheTaskCode() {
        Result r = vessel("run", "--rm", "--rootfs", rootfs.toString(), "--", "sh", "-c", "echo hi; echo warn >&2; exit 3");
        assertEquals(3, r.code(), r::toString);
        assertEquals("hi\n", r.out());
        assertEquals("warn\n", r.err());
    }

    @Test
    void detachedRunPsLogsKillRm() throws Exception {
        Result run = vessel("run", "-d", "--name", "cli-rt", "--memory", "64m", "--cpus", "0.5", "-e", "GREETING=hello",
                "--rootfs", rootfs.toString(), "sh", "-c", "echo $GREETING; echo oops >&2; exec sleep 300");
        assertEquals(0, run.code(), run::toString);
        assertEquals("cli-rt\n", run.out());

        Result ps = vessel("ps");
        assertEquals(0, ps.code(), ps::toString);
        List<String> lines = ps.out().lines().toList();
        assertTrue(lines.getFirst().matches("ID +IMAGE/ROOTFS +COMMAND +STATE +EXIT +CREATED +POD +NAMES"), ps::toString);
        String row = lines.stream().filter(l -> l.startsWith("cli-rt ")).findFirst().orElseThrow(() -> new AssertionError(ps));
        assertTrue(row.contains(rootfs.toString()) && row.contains("\"sh -c echo") && row.contains("RUNNING"), row);
        assertEquals(lines.getFirst().indexOf("STATE"), row.indexOf("RUNNING"), "columns aligned:\n" + ps.out());

        JsonNode listed = JSON.readTree(vessel("ps", "--json").out()).get("containers");
        assertTrue(listed.toString().contains("\"cli-rt\""), listed::toString);
        JsonNode inspected = inspect("cli-rt");
        assertEquals("RUNNING", inspected.at("/status/state").asText());
        assertEquals(64L << 20, inspected.at("/config/resources/memory_bytes").asLong(), inspected::toString);

        Result logs = vessel("logs", "cli-rt");
        for (int i = 0; i < 100 && !logs.out().contains("hello"); i++) {
            Thread.sleep(50);
            logs = vessel("logs", "cli-rt");
        }
        assertEquals("hello\n", logs.out(), logs::toString);
        assertEquals("oops\n", logs.err());

        Result refused = vessel("rm", "cli-rt");
        assertEquals(125, refused.code(), refused::toString);
        assertTrue(refused.err().startsWith("vessel: cli-rt: container 'cli-rt' is RUNNING"), refused::toString);

        assertEquals(0, vessel("kill", "-s", "KILL", "cli-rt").code());
        Result followed = vessel("logs", "-f", "cli-rt"); // ends with the container
        assertEquals(0, followed.code(), followed::toString);
        JsonNode status = inspect("cli-rt").get("status");
        for (int i = 0; i < 100 && !status.path("state").asText().equals("TERMINATED"); i++) {
            Thread.sleep(50);
            status = inspect("cli-rt").get("status");
        }
        assertEquals(9, status.at("/termination/signal").asInt(), status::toString);
        String psAll = vessel("ps", "-a").out();
        assertTrue(psAll.lines().anyMatch(l -> l.startsWith("cli-rt ") && l.contains("TERMINATED") && l.contains(" 137 ")),
                psAll);
        assertFalse(vessel("ps").out().contains("cli-rt"));

        Result rm = vessel("rm", "cli-rt");
        assertEquals(0, rm.code(), rm::toString);
        assertFalse(vessel("ps", "-a").out().contains("cli-rt"));
        Result gone = vessel("inspect", "cli-rt");
        assertEquals(125, gone.code());
        assertTrue(gone.err().startsWith("vessel: "), gone::toString);
    }

    @Test
    void forceRemovesARunningContainer() {
        assertEquals(0, vessel("run", "-d", "--name", "cli-force", "--rootfs", rootfs.toString(), "sleep", "300").code());
        Result rm = vessel("rm", "-f", "cli-force");
        assertEquals(0, rm.code(), rm::toString);
        assertFalse(vessel("ps", "-a").out().contains("cli-force"));
    }

    @Test
    void flagErrorsNameTheFlagAndCreateNothing() throws Exception {
        int before = JSON.readTree(vessel("ps", "-a", "--json").out()).get("containers").size();
        record Bad(List<String> args, String flag) {
        }
        for (Bad bad : List.of(
                new Bad(List.of("--memory", "12x"), "--memory"),
                new Bad(List.of("--memory", "-5m"), "--memory"),
                new Bad(List.of("-v", "/tmp"), "--volume"),
                new Bad(List.of("-v", "/tmp:relative"), "--volume"),
                new Bad(List.of("-v", "/tmp:/mnt:rx"), "--volume"),
                new Bad(List.of("--cpus", "0"), "--cpus"),
                new Bad(List.of("--cpus", "1", "--cpu-quota", "50000"), "--cpus"),
                new Bad(List.of("--cpu-period", "50000"), "--cpu-period"),
                new Bad(List.of("--cpu-quota", "50000", "--cpu-period", "999"), "--cpu-period"),
                new Bad(List.of("--cpu-quota", "999"), "--cpu-quota"),
                new Bad(List.of("-p", "80"), "--publish"),
                new Bad(List.of("-e", "=x"), "--env"),
                new Bad(List.of("--security-opt", "seccomp=/nonexistent/profile.json"), "--security-opt"),
                new Bad(List.of("--security-opt", "apparmor=unconfined"), "--security-opt"),
                new Bad(List.of("--security-opt", "seccomp"), "--security-opt"),
                new Bad(List.of("--cap-add", "NET_RAW,CAP_FLY"), "--cap-add"),
                new Bad(List.of("--cap-drop", "bogus"), "--cap-drop"),
                new Bad(List.of("--tmpfs", "/scratch:size=1m,exotic"), "unknown tmpfs option 'exotic'"),
                new Bad(List.of("--tmpfs", "/scratch:mode=999"), "--tmpfs"),
                new Bad(List.of("--tmpfs", "/scratch:suid"), "--tmpfs"),
                new Bad(List.of("--tmpfs", "scratch"), "--tmpfs"),
                new Bad(List.of("--pids-limit", "-5"), "--pids-limit"),
                new Bad(List.of("--pids-limit", "0"), "--pids-limit"))) {
            List<String> args = new ArrayList<>(List.of("run"));
            args.addAll(bad.args());
            args.addAll(List.of("--rootfs", rootfs.toString(), "true"));
            Result r = vessel(args.toArray(String[]::new));
            assertEquals(125, r.code(), r::toString);
            assertTrue(r.err().startsWith("vessel: ") && r.err().contains(bad.flag()), bad + " -> " + r);
            assertFalse(r.err().contains("\tat "), r::toString);
        }
        assertEquals(before, JSON.readTree(vessel("ps", "-a", "--json").out()).get("containers").size());
    }

    @Test
    void securityOptSeccompTakesAProfileFileOrUnconfined() throws Exception {
        Result confined = vessel("run", "--rm", "--rootfs", rootfs.toString(), "grep", "^Seccomp:", "/proc/self/status");
        assertEquals("Seccomp:\t2\n", confined.out(), confined::toString);
        Result unconfined = vessel("run", "--rm", "--security-opt", "seccomp=unconfined", "--rootfs", rootfs.toString(),
                "grep", "^Seccomp:", "/proc/self/status");
        assertEquals("Seccomp:\t0\n", unconfined.out(), unconfined::toString);
        Path profile = Files.createTempFile("seccomp", ".json");
        try {
            Files.writeString(profile, """
                    {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}""");
            Result custom = vessel("run", "--rm", "--security-opt", "seccomp=" + profile, "--rootfs", rootfs.toString(),
                    "mkdir", "/tmp/denied");
            assertEquals(1, custom.code(), custom::toString);
            assertTrue(custom.err().contains("Operation not permitted"), custom::toString);
            Files.writeString(profile, "{\"defaultAction\": \"SCMP_ACT_MAYBE\"}");
            Result malformed = vessel("run", "--rm", "--security-opt", "seccomp=" + profile, "--rootfs", rootfs.toString(),
                    "true");
            assertEquals(125, malformed.code(), malformed::toString);
            assertTrue(malformed.err().contains("seccomp.profile_json") && malformed.err().contains("$.defaultAction"),
                    malformed::toString);
        } finally {
            Files.delete(profile);
        }
    }

    @Test
    void capabilityFlagsTakePodmansSpellingsAndReachTheTask() {
        Result caps = vessel("run", "--rm", "--cap-add", "net_raw,CAP_MKNOD", "--cap-drop", "Chown",
                "--rootfs", rootfs.toString(), "grep", "^CapEff", "/proc/self/status");
        assertEquals(0, caps.code(), caps::toString);
        // podman's default set (00000000800405fb) plus NET_RAW (bit 13) and MKNOD (27), minus CHOWN (0)
        assertEquals("CapEff:\t00000000880425fa\n", caps.out());
        Result only = vessel("run", "--rm", "--cap-drop", "ALL", "--cap-add", "kill", "--rootfs", rootfs.toString(),
                "grep", "^CapEff", "/proc/self/status");
        assertEquals("CapEff:\t0000000000000020\n", only.out(), only::toString);
    }

    @Test
    void readOnlyAndTmpfsFlagsShapeTheTasksMounts() {
        Result r = vessel("run", "--rm", "--read-only", "--tmpfs", "/scratch:size=1m,mode=700",
                "--tmpfs", "/bin-tmp:exec", "--rootfs", rootfs.toString(), "sh", "-c", String.join("; ",
                        "true >> /written || echo root is read-only",
                        "echo y > /tmp/y && echo /tmp is writable",
                        // the super options come third after the "-" that ends the optional fields
                        "awk '$5 ~ /^\\/(scratch|bin-tmp)$/ { for (i = 7; $i != \"-\"; i++) ; print $5, $6, $(i + 3) }'"
                                + " /proc/self/mountinfo"));
        assertEquals(0, r.code(), r::toString);
        assertEquals("root is read-only\n/tmp is writable\n"
                + "/scratch rw,nosuid,nodev,noexec,relatime rw,size=1024k,mode=700\n"
                + "/bin-tmp rw,nosuid,nodev,relatime rw\n", r.out(), r::toString); // exec; 1777 is tmpfs's default mode
    }

    @Test
    void theResolverFilesComeFromTheFlagsAndBadOnesAreRefusedNamingTheFlag() throws Exception {
        // a rootfs given as a directory gets the files it has: nothing is made in it
        for (String name : List.of("resolv.conf", "hosts", "hostname")) {
            if (!Files.exists(rootfs.resolve("etc").resolve(name))) {
                Files.writeString(Files.createDirectories(rootfs.resolve("etc")).resolve(name), "");
            }
        }
        Result r = vessel("run", "--rm", "--hostname", "web", "--dns", "192.0.2.53", "--dns-search", "example.test",
                "--dns-option", "ndots:2", "--add-host", "db:192.0.2.7", "--add-host", "v6:2001:db8::7", "--rootfs",
                rootfs.toString(), "cat", "/etc/resolv.conf", "/etc/hosts", "/etc/hostname");
        assertEquals(0, r.code(), r::toString);
        assertEquals("nameserver 192.0.2.53\nsearch example.test\noptions ndots:2\n"
                + "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\tweb\n192.0.2.7\tdb\n"
                + "2001:db8::7\tv6\nweb\n", r.out());
        assertFalse(readOrEmpty(rootfs.resolve("etc/resolv.conf")).contains("192.0.2.53"), "the rootfs's own file is"
                + " not written");

        Result bad = vessel("run", "--rm", "--name", "cli-bad-dns", "--dns", "192.0.2.300", "--rootfs", rootfs.toString(),
                "true");
        assertEquals(125, bad.code(), bad::toString);
        assertTrue(bad.err().startsWith("vessel: --dns: dns_servers[0]: '192.0.2.300' is not an IPv4 or IPv6 address"),
                bad::toString);
        Result host = vessel("run", "--rm", "--add-host", "db", "--rootfs", rootfs.toString(), "true");
        assertTrue(host.err().contains("--add-host: 'db' must be NAME:IP"), host::toString);
        assertFalse(vessel("ps", "-a").out().contains("cli-bad-dns"), "nothing was made");
    }

    private static String readOrEmpty(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return "";
        }
    }

    @Test
    void mountFlagsGiveBindsVolumesAndTmpfsAsPodmansDoAndBadOnesAreRefusedNamingTheFlag() throws Exception {
        Path data = Files.createDirectories(tmp.resolve("mount-data"));
        Files.writeString(data.resolve("seed"), "from the host\n");
        Result r = vessel("run", "--rm", "--mount", "type=bind,source=" + data + ",target=/data,readonly",
                "--mount", "type=volume,src=cli-mount-kept,dst=/kept", "--mount",
                "type=tmpfs,destination=/scratch,tmpfs-size=1m,tmpfs-mode=0700", "--rootfs", rootfs.toString(), "sh", "-c",
                "cat /data/seed; touch /data/new 2>/dev/null || echo data is read-only; echo kept > /kept/note;"
                        + " df -k /scratch | awk 'NR == 2 { print $2 }'; stat -c %a /scratch;"
                        + " grep ' /scratch ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1-4");
        assertEquals(0, r.code(), r::toString);
        assertEquals("from the host\ndata is read-only\n1024\n700\nrw,nosuid,nodev,noexec\n", r.out(), r::toString);
        Result kept = vessel("run", "--rm", "--mount", "type=volume,source=cli-mount-kept,target=/kept,ro", "--rootfs",
                rootfs.toString(), "cat", "/kept/note");
        assertEquals("kept\n", kept.out(), "a named volume outlives its container: " + kept);

        for (String[] bad : new String[][] {
                {"type=bind,source=relative,target=/d", "a bind's source must be an absolute host path"},
                {"type=image,source=busybox,target=/d", "type=image is not supported"},
                {"type=tmpfs,target=d", "the target must be given as an absolute path"},
                {"type=bind,source=/tmp,target=/d,bind-propagation=shared", "mounts are private"},
                {"type=bind,source=/tmp,target=/d,tmpfs-size=1m", "are for type=tmpfs"},
                {"type=tmpfs,target=/d,size=1m", "unknown key 'size'"}}) {
            Result refused = vessel("run", "--rm", "--mount", bad[0], "--rootfs", rootfs.toString(), "true");
            assertEquals(125, refused.code(), refused::toString);
            assertTrue(refused.err().contains("--mount") && refused.err().contains(bad[1]), refused::toString);
        }
    }

    @Test
    void pidfileHoldsTheTasksPidAndGroupAddGivesSupplementaryGroupsByNumberOrName() throws Exception {
        Path pidfile = tmp.resolve("cli-pid.pid");
        Result r = vessel("run", "-d", "--name", "cli-pid", "--pidfile", pidfile.toString(), "--group-add", "1234",
                "--group-add", "5", "--rootfs", rootfs.toString(), "sh", "-c", "id -G; exec sleep 300");
        assertEquals(0, r.code(), r::toString);
        try {
            long pid = inspect("cli-pid").at("/status/pid").asLong();
            assertTrue(pid > 0);
            assertEquals(pid + "\n", Files.readString(pidfile));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (vessel("logs", "cli-pid").out().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(List.of(0L, 5L, 1234L), sortedIds(vessel("logs", "cli-pid").out()));
        } finally {
            vessel("rm", "-f", "cli-pid");
        }
        // by name, as podman: looked up in the container's /etc/group, for the task and an exec with a user
        Result named = vessel("run", "-d", "--name", "cli-groups", "--group-add", "extra", "--group-add", "7",
                "--rootfs", rootfs.toString(), "sh", "-c", "id -G > /tmp/groups; exec sleep 300");
        assertEquals(0, named.code(), named::toString);
        try {
            Result ids = vessel("exec", "cli-groups", "sh", "-c", "while [ ! -s /tmp/groups ]; do sleep 0.1; done;"
                    + " cat /tmp/groups");
            assertEquals(List.of(0L, 7L, 2000L), sortedIds(ids.out()), ids::toString);
            Result asApp = vessel("exec", "--user", "app", "cli-groups", "id", "-G");
            assertEquals(List.of(7L, 1000L, 2000L), sortedIds(asApp.out()), "app's own groups and the container's");
        } finally {
            vessel("rm", "-f", "cli-groups");
        }
        String before = vessel("ps", "--all", "--quiet").out();
        Result unknown = vessel("run", "--rm", "--group-add", "wheel", "--rootfs", rootfs.toString(), "true");
        assertNotEquals(0, unknown.code(), unknown::toString);
        assertTrue(unknown.err().contains("additional_groups[0]") && unknown.err().contains("no group 'wheel'"),
                unknown::toString);
        Result malformed = vessel("run", "--rm", "--group-add", "1x", "--rootfs", rootfs.toString(), "true");
        assertTrue(malformed.err().contains("additional_groups[0]: '1x' must be a group's name"), malformed::toString);
        assertEquals(before, vessel("ps", "--all", "--quiet").out(), "a refused run left a container");
    }

    /** What {@code id -G} printed, in numeric order (the kernel keeps a process's groups sorted). */
    private static List<Long> sortedIds(String printed) {
        return List.of(printed.strip().split(" ")).stream().map(Long::parseLong).sorted().toList();
    }

    @Test
    void aHealthCheckFindsTheContainerHealthyThenUnhealthyAndItsOnFailureKillsIt() throws Exception {
        Result r = vessel("run", "-d", "--name", "cli-health", "--tmpfs", "/scratch", "--health-cmd",
                "test -e /scratch/ok && echo fine", "--health-interval", "1s", "--health-retries", "2", "--rootfs",
                rootfs.toString(), "sh", "-c", "sleep 2; touch /scratch/ok; exec sleep 300");
        assertEquals(0, r.code(), r::toString);
        try {
            assertEquals("starting", inspect("cli-health").at("/status/health/status").asText());
            awaitHealth("cli-health", "healthy");
            JsonNode health = inspect("cli-health").at("/status/health");
            assertEquals("fine\n", health.at("/log").get(health.at("/log").size() - 1).path("output").asText());
            assertTrue(vessel("ps").out().lines().anyMatch(l -> l.startsWith("cli-health ") && l.contains("RUNNING (healthy)")),
                    () -> vessel("ps").out());
            assertEquals(0, vessel("healthcheck", "run", "cli-health").code());
            assertEquals(0, inspect("cli-health").at("/status/execs").size(), "a check is no listed exec");

            // a daemon killed and started again checks its running containers from "starting" again
            node.kill9AndRestart();
            assertEquals("starting", inspect("cli-health").at("/status/health/status").asText());
            awaitHealth("cli-health", "healthy");

            assertEquals(0, vessel("exec", "cli-health", "rm", "/scratch/ok").code());
            Result failing = vessel("healthcheck", "run", "cli-health");
            assertEquals(1, failing.code(), failing::toString);
            awaitHealth("cli-health", "unhealthy");
            assertEquals("RUNNING", inspect("cli-health").at("/status/state").asText(), "on_failure none");
        } finally {
            vessel("rm", "-f", "cli-health");
        }

        assertEquals(0, vessel("run", "-d", "--name", "cli-health-kill", "--health-cmd", "[\"CMD\", \"false\"]",
                "--health-interval", "1s", "--health-retries", "1", "--health-on-failure", "kill", "--rootfs",
                rootfs.toString(), "sleep", "300").code());
        try {
            Result waited = vessel("wait", "cli-health-kill");
            assertEquals("137\n", waited.out(), "killed when it became unhealthy: " + waited);
            String events = vessel("events", "--json", "--since", "10m", "--until", "0s", "--filter",
                    "container=cli-health-kill", "--filter", "event=health_status").out();
            assertTrue(events.lines().anyMatch(l -> l.contains("\"unhealthy\"")), events);
        } finally {
            vessel("rm", "-f", "cli-health-kill");
        }

        Result fast = vessel("run", "--rm", "--health-cmd", "true", "--health-interval", "10ms", "--rootfs",
                rootfs.toString(), "true");
        assertEquals(125, fast.code(), fast::toString);
        assertTrue(fast.err().contains("health_check.interval_ms") && fast.err().contains("10 ms"), fast::toString);
        Result alone = vessel("run", "--rm", "--health-retries", "2", "--rootfs", rootfs.toString(), "true");
        assertTrue(alone.err().contains("give --health-cmd too"), alone::toString);
        Result noCheck = vessel("healthcheck", "run", "cli-no-check-here");
        assertEquals(125, noCheck.code(), noCheck::toString);
    }

    private static void awaitHealth(String id, String status) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        String seen = "";
        while (System.nanoTime() < deadline) {
            seen = inspect(id).at("/status/health/status").asText();
            if (seen.equals(status)) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError(id + " never became " + status + ", was " + seen + ": " + inspect(id).at("/status/health"));
    }

    @Test
    void shmSizeSizesDevShmKeepingItNoexec() {
        Result r = vessel("run", "--rm", "--shm-size", "100m", "--rootfs", rootfs.toString(), "sh", "-c",
                "df -k /dev/shm | awk 'NR == 2 { print $2 }'; grep ' /dev/shm ' /proc/mounts | cut -d' ' -f3,4");
        assertEquals(0, r.code(), r::toString);
        List<String> lines = r.out().lines().toList();
        assertEquals("102400", lines.get(0), r::toString);
        assertTrue(lines.get(1).startsWith("tmpfs rw,nosuid,nodev,noexec"), r::toString);
        Result standard = vessel("run", "--rm", "--rootfs", rootfs.toString(), "sh", "-c",
                "df -k /dev/shm | awk 'NR == 2 { print $2 }'");
        assertEquals("65536\n", standard.out(), "without it, the helper's 64 MiB: " + standard);
        Result twice = vessel("run", "--rm", "--shm-size", "1m", "--tmpfs", "/dev/shm", "--rootfs", rootfs.toString(), "true");
        assertEquals(125, twice.code(), twice::toString);
        assertTrue(twice.err().contains("--shm-size: /dev/shm is already a volume"), twice::toString);
    }

    @Test
    void cpuSharesAndAMemoryReservationWeighTheContainerAndAnUpdateChangesThem() throws Exception {
        var cpu = CgroupHierarchies.detect().forController("cpu")
                .orElseThrow(() -> new AssertionError("this host mounts no cpu controller"));
        Path cgroup = cpu.mountPoint().resolve(node.cgroupParent()).resolve("cli-shares");
        // v1 takes the shares as they are; v2's weight is runc's mapping of them
        String weightFile = cpu.unified() ? "cpu.weight" : "cpu.shares";
        assertEquals(0, vessel("run", "-d", "--name", "cli-shares", "--cpus", "0.5", "--cpu-shares", "700",
                "--memory", "64m", "--memory-reservation", "32m", "--rootfs", rootfs.toString(), "sleep", "300").code());
        try {
            assertEquals(cpu.unified() ? "27" : "700", Files.readString(cgroup.resolve(weightFile)).strip(),
                    "the shares given, not the 512 of 0.5 CPUs");
            var memory = CgroupHierarchies.detect().forController("memory").orElseThrow();
            Path memoryCgroup = memory.mountPoint().resolve(node.cgroupParent()).resolve("cli-shares");
            String soft = memory.unified() ? "memory.low" : "memory.soft_limit_in_bytes";
            assertEquals(Long.toString(32L << 20), Files.readString(memoryCgroup.resolve(soft)).strip());
            assertEquals(0, vessel("update", "--cpu-shares", "3000", "--memory-reservation", "16m", "cli-shares").code());
            assertEquals(Long.toString(16L << 20), Files.readString(memoryCgroup.resolve(soft)).strip());
            assertEquals(cpu.unified() ? "115" : "3000", Files.readString(cgroup.resolve(weightFile)).strip());
            assertEquals(3000, inspect("cli-shares").at("/config/resources/cpu_shares").asLong());
            Result refused = vessel("update", "--cpu-shares", "1", "cli-shares");
            assertEquals(125, refused.code(), refused::toString);
            assertTrue(refused.err().contains("resources.cpu_shares") && refused.err().contains("from 2 to 262144"),
                    refused::toString);
            assertEquals(cpu.unified() ? "115" : "3000", Files.readString(cgroup.resolve(weightFile)).strip(),
                    "a refused update changes nothing");
        } finally {
            vessel("rm", "-f", "cli-shares");
        }
        Result bad = vessel("run", "--rm", "--name", "cli-shares-bad", "--cpu-shares", "300000", "--rootfs",
                rootfs.toString(), "true");
        assertEquals(125, bad.code(), bad::toString);
        assertTrue(bad.err().startsWith("vessel: --cpu-shares: ") && bad.err().contains("resources.cpu_shares"),
                bad::toString);
        Result above = vessel("run", "--rm", "--memory", "64m", "--memory-reservation", "128m", "--rootfs",
                rootfs.toString(), "true");
        assertEquals(125, above.code(), above::toString);
        assertTrue(above.err().startsWith("vessel: --memory-reservation: ") && above.err().contains("above the memory"
                + " limit"), above::toString);
    }

    @Test
    void aCpuQuotaOverItsPeriodIsTheLimitCpusSaysEnforcedOverAHundredMilliseconds() throws Exception {
        var cpu = CgroupHierarchies.detect().forController("cpu")
                .orElseThrow(() -> new AssertionError("this host mounts no cpu controller"));
        Path cgroup = cpu.mountPoint().resolve(node.cgroupParent()).resolve("cli-quota");
        assertEquals(0, vessel("run", "-d", "--name", "cli-quota", "--cpu-period", "200000", "--cpu-quota", "50000",
                "--rootfs", rootfs.toString(), "sleep", "300").code());
        try {
            assertEquals(0.25, inspect("cli-quota").at("/config/resources/cpus").asDouble());
            assertEquals(cpu.unified() ? "25000 100000" : "25000", Files.readString(cgroup.resolve(cpu.unified()
                    ? "cpu.max" : "cpu.cfs_quota_us")).strip(), "a quarter CPU");
            assertEquals(0, vessel("update", "--cpu-quota", "150000", "cli-quota").code());
            assertEquals(1.5, inspect("cli-quota").at("/config/resources/cpus").asDouble());
            assertEquals(0, vessel("update", "--cpu-quota", "-1", "cli-quota").code());
            assertEquals(0, inspect("cli-quota").at("/config/resources/cpus").asDouble(), "no limit");
            assertEquals(cpu.unified() ? "max 100000" : "-1", Files.readString(cgroup.resolve(cpu.unified()
                    ? "cpu.max" : "cpu.cfs_quota_us")).strip());
        } finally {
            vessel("rm", "-f", "cli-quota");
        }
    }

    @Test
    void aCpusetKeepsTheContainerOnItsCpusAndAnUpdateMovesIt() throws Exception {
        var cpuset = CgroupHierarchies.detect().forController("cpuset")
                .orElseThrow(() -> new AssertionError("this host mounts no cpuset controller"));
        Path cgroup = cpuset.mountPoint().resolve(node.cgroupParent()).resolve("cli-cpuset");
        String allCpus = Files.readString(Path.of("/sys/devices/system/cpu/online")).strip();
        assertEquals(0, vessel("run", "-d", "--name", "cli-cpuset", "--cpuset-cpus", "1", "--cpuset-mems", "0",
                "--rootfs", rootfs.toString(), "sh", "-c", "grep Cpus_allowed_list /proc/self/status; sleep 300")
                .code());
        try {
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (vessel("logs", "cli-cpuset").out().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals("Cpus_allowed_list:\t1\n", vessel("logs", "cli-cpuset").out());
            assertEquals("1", Files.readString(cgroup.resolve("cpuset.cpus")).strip());
            assertEquals("0", Files.readString(cgroup.resolve("cpuset.mems")).strip());
            assertEquals("1", inspect("cli-cpuset").at("/config/resources/cpuset_cpus").asText());

            // Kubernetes' static CPU manager moves a running container: the task's affinity follows its cgroup
            assertEquals(0, vessel("update", "--cpuset-cpus", "0", "cli-cpuset").code());
            assertEquals("0", Files.readString(cgroup.resolve("cpuset.cpus")).strip());
            long pid = inspect("cli-cpuset").at("/status/pid").asLong();
            assertTrue(Files.readString(Path.of("/proc", Long.toString(pid), "status"))
                    .contains("Cpus_allowed_list:\t0\n"));
            Result beyond = vessel("update", "--cpuset-cpus", "0-4096", "cli-cpuset");
            assertEquals(125, beyond.code(), beyond::toString);
            assertTrue(beyond.err().contains("resources.cpuset_cpus") && beyond.err().contains("not online on this"
                    + " node (online: " + allCpus + ")"), beyond::toString);
            assertEquals("0", Files.readString(cgroup.resolve("cpuset.cpus")).strip(),
                    "a refused update changes nothing");
            // none again: all the parent's
            assertEquals(0, vessel("update", "--cpuset-cpus", "", "cli-cpuset").code());
            assertEquals(allCpus, Files.readString(cgroup.resolve("cpuset.cpus")).strip());
        } finally {
            vessel("rm", "-f", "cli-cpuset");
        }
        assertFalse(Files.exists(cgroup), "its cpuset cgroup is removed with it");
        Result word = vessel("run", "--rm", "--cpuset-cpus", "all", "--rootfs", rootfs.toString(), "true");
        assertEquals(125, word.code(), word::toString);
        assertTrue(word.err().startsWith("vessel: --cpuset-cpus: ") && word.err().contains("'all' has 'all', not a"
                + " number or a range"), word::toString);
        // a container without a cpuset runs on every CPU of its parent's
        Result plain = vessel("run", "--rm", "--rootfs", rootfs.toString(), "grep", "Cpus_allowed_list",
                "/proc/self/status");
        assertEquals("Cpus_allowed_list:\t" + allCpus + "\n", plain.out(), plain::toString);
    }

    @Test
    void aContainerJoinsAnothersIpcUtsAndPidNamespaces() throws Exception {
        assertEquals(0, vessel("run", "-d", "--name", "cli-first", "--hostname", "first-host", "--rootfs",
                rootfs.toString(), "sleep", "300").code());
        try {
            Result joined = vessel("run", "--rm", "--ipc", "container:cli-first", "--uts", "container:cli-first",
                    "--pid", "container:cli-first", "--rootfs", rootfs.toString(), "sh", "-c",
                    "hostname; tr '\\0' ' ' < /proc/1/cmdline; echo");
            assertEquals("first-host\nsleep 300 \n", joined.out(), joined::toString);
            Result host = vessel("run", "--rm", "--ipc", "host", "--rootfs", rootfs.toString(), "true");
            assertEquals(125, host.code(), host::toString);
            assertTrue(host.err().contains("--ipc: 'host' is not container:ID, ns:PATH or private"), host::toString);
            Result hostPath = vessel("run", "--rm", "--pid", "ns:/proc/self/ns/pid", "--rootfs", rootfs.toString(),
                    "true");
            assertEquals(125, hostPath.code(), hostPath::toString);
            assertTrue(hostPath.err().startsWith("vessel: --pid: ") && hostPath.err().contains("is the host's pid"
                    + " namespace"), hostPath::toString);
            Result named = vessel("run", "--rm", "--uts", "container:cli-first", "--hostname", "mine", "--rootfs",
                    rootfs.toString(), "true");
            assertTrue(named.err().contains("--hostname: ") && named.err().contains("keeps its own host name"),
                    named::toString);
        } finally {
            vessel("rm", "-f", "cli-first");
        }
        Result gone = vessel("run", "--rm", "--ipc", "container:cli-first", "--rootfs", rootfs.toString(), "true");
        assertEquals(125, gone.code(), gone::toString);
    }

    @Test
    void pidsLimitMinusOneLeavesTheContainerWithoutALimitOfItsOwn() throws Exception {
        Path pids = CgroupHierarchies.detect().forController("pids")
                .orElseThrow(() -> new AssertionError("this host mounts no pids controller")).mountPoint();
        assertEquals(0, vessel("run", "-d", "--name", "cli-pids", "--pids-limit", "-1", "--rootfs", rootfs.toString(),
                "sleep", "300").code());
        try {
            assertEquals("max", Files.readString(pids.resolve(node.cgroupParent()).resolve("cli-pids/pids.max")).strip());
            assertEquals(-1, inspect("cli-pids").at("/config/resources/pids").asLong());
        } finally {
            vessel("rm", "-f", "cli-pids");
        }
        assertEquals(0, vessel("run", "-d", "--name", "cli-pids-7", "--pids-limit", "7", "--rootfs", rootfs.toString(),
                "sleep", "300").code());
        try {
            assertEquals("7", Files.readString(pids.resolve(node.cgroupParent()).resolve("cli-pids-7/pids.max")).strip());
        } finally {
            vessel("rm", "-f", "cli-pids-7");
        }
    }

    @Test
    void sysctlsAreSetInTheContainersNamespacesAndOneOnTheHostsNetworkIsRefusedNamingTheFlag() throws Exception {
        Path hostForward = Path.of("/proc/sys/net/ipv4/ip_forward");
        String before = Files.readString(hostForward).strip();
        String wanted = before.equals("1") ? "0" : "1";
        Result r = vessel("run", "--rm", "--sysctl", "net.ipv4.ip_forward=" + wanted, "--sysctl", "fs.mqueue.msg_max=20",
                "--rootfs", rootfs.toString(), "cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/fs/mqueue/msg_max");
        assertEquals(0, r.code(), r::toString);
        assertEquals(wanted + "\n20\n", r.out());
        assertEquals(before, Files.readString(hostForward).strip(), "the host's is untouched");

        // the host's own value: were it ever written, nothing would change
        Result host = vessel("run", "--rm", "--name", "cli-sysctl-host", "--network", "host", "--sysctl",
                "net.ipv4.ip_forward=" + before, "--rootfs", rootfs.toString(), "true");
        assertEquals(125, host.code(), host::toString);
        assertTrue(host.err().startsWith("vessel: --sysctl: ") && host.err().contains("sysctls[net.ipv4.ip_forward]")
                && host.err().contains("host's network namespace"), host::toString);
        assertFalse(vessel("ps", "-a").out().contains("cli-sysctl-host"), "nothing was made");
    }

    @Test
    void aVmTaskIsRefusedCleanlyWhileTheNodeHasNoVmLauncher() {
        Result r = vessel("run", "--vm", "--rootfs", rootfs.toString(), "true");
        assertEquals(125, r.code(), r::toString);
        assertTrue(r.err().startsWith("vessel: ") && !r.err().contains("\tat "), r::toString);
    }

    @Test
    void noDaemonIsAClearMessageAndExit125() {
        Path socket = tmp.resolve("nowhere/vessel.sock");
        for (String[] args : List.of(new String[] {"ps"}, new String[] {"run", "--rootfs", "/", "true"})) {
            List<String> all = new ArrayList<>(List.of("--host", "unix://" + socket));
            all.addAll(List.of(args));
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = Vessel.execute(new Vessel(new PrintStream(new ByteArrayOutputStream()), new PrintStream(err, true,
                    StandardCharsets.UTF_8), java.io.InputStream.nullInputStream(), false, Map.of()), all.toArray(String[]::new));
            assertEquals(125, code);
            assertEquals("vessel: cannot reach vesseld at unix://" + socket + ": no such socket — is the daemon running?"
                    + " start it with `vessel daemon`\n", err.toString(StandardCharsets.UTF_8));
        }
    }

    @Test
    void jsonListingsParse() throws Exception {
        assertTrue(JSON.readTree(vessel("info", "--json").out()).has("cgroup_mode"));
        assertTrue(JSON.readTree(vessel("images", "--json").out()).get("images").isArray());
        assertTrue(JSON.readTree(vessel("gc", "--json").out()).has("blobs_removed"));
        Result info = vessel("info");
        assertEquals(0, info.code(), info::toString);
        assertTrue(info.out().contains("isolators:\n  process: "), info::toString);
        assertTrue(info.out().contains("\n  vm guest: cgroups, "), info::toString);
    }

    @Test
    void pullImagesRunFromImageRmiGc() throws Exception {
        Path layout = tmp.resolve("layout");
        umoci("init", "--layout", layout.toString());
        umoci("new", "--image", layout + ":bb");
        umoci("insert", "--image", layout + ":bb", rootfs.toString(), "/");
        String image = "oci:" + layout + ":bb";

        Result pull = vessel("pull", image);
        assertEquals(0, pull.code(), pull::toString);
        assertTrue(pull.out().startsWith("Pulling ") && pull.out().contains("Pulled " + image), pull::toString);
        Result images = vessel("images");
        assertTrue(images.out().lines().anyMatch(l -> l.startsWith(image + " ") && l.contains("sha256:")), images::toString);

        Result rmi = vessel("rmi", image);
        assertEquals(0, rmi.code(), rmi::toString);
        assertFalse(vessel("images").out().contains(image));
        // run pulls what the node lacks, as docker run does
        Result run = vessel("run", "--rm", image, "sh", "-c", "echo from the image");
        assertEquals(0, run.code(), run::toString);
        assertEquals("from the image\n", run.out());
        assertTrue(run.err().contains("Unable to find image") && run.err().contains("Pulled "), run::toString);

        assertEquals(0, vessel("rmi", image).code());
        Result gc = vessel("gc");
        assertEquals(0, gc.code(), gc::toString);
        assertTrue(gc.out().matches("Removed [1-9]\\d* blobs and \\d+ layers, freed .*\n"), gc::toString);
        Result missing = vessel("rmi", image);
        assertEquals(125, missing.code());
        assertTrue(missing.err().startsWith("vessel: "), missing::toString);
    }

    private static void umoci(String... args) throws Exception {
        Process p = new ProcessBuilder(Stream.concat(Stream.of("umoci"), Stream.of(args)).toList())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "umoci " + String.join(" ", args) + " (apt-get install umoci):\n" + out);
    }

    @Test
    void loginWritesDockerConfigReadableOnlyByItsOwner() throws Exception {
        Path dir = tmp.resolve("docker-config");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), "{\"auths\":{\"other.example\":{\"auth\":\"eDp5\"}},\"psFormat\":\"x\"}");
        Result r = vesselWith(Map.of("DOCKER_CONFIG", dir.toString()), "s3cret:with:colons\n",
                "login", "-u", "alice", "--password-stdin", "registry.example:5000");
        assertEquals(0, r.code(), r::toString);
        Path file = dir.resolve("config.json");
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        JsonNode config = JSON.readTree(file.toFile());
        assertEquals(Base64.getEncoder().encodeToString("alice:s3cret:with:colons".getBytes(StandardCharsets.UTF_8)),
                config.at("/auths/registry.example:5000/auth").asText());
        assertEquals("eDp5", config.at("/auths/other.example/auth").asText(), "other registries are kept");
        assertEquals("x", config.get("psFormat").asText());
        // the daemon reads it with this very class
        Credentials read = DockerConfigCredentials.load(DockerConfigCredentials.defaultLocation(
                Map.of("DOCKER_CONFIG", dir.toString()))).forRegistry("registry.example:5000").orElseThrow();
        assertEquals("alice", read.username());
        assertEquals("s3cret:with:colons", read.password());

        Result empty = vesselWith(Map.of("DOCKER_CONFIG", dir.toString()), "", "login", "-u", "a", "--password-stdin", "r");
        assertEquals(125, empty.code());
        assertTrue(empty.err().contains("--password-stdin"), empty::toString);
    }

    /** A real CLI process: Ctrl-C (SIGINT) reaches the container as SIGTERM and the CLI exits with the task's code. */
    @Test
    void ctrlCForwardsSigtermToTheContainer() throws Exception {
        // SIGINT at its default, whatever this JVM was given (a shell's background job starts with it ignored,
        // and a JVM then leaves it so, as nohup asks)
        Process cli = new ProcessBuilder("env", "--default-signal=INT", Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Vessel.class.getName(),
                "--host", host, "run", "--name", "cli-sigint", "--rootfs", rootfs.toString(), "sh", "-c",
                "trap 'echo got TERM; exit 7' TERM; echo ready; while :; do sleep 0.2; done").start();
        try {
            var stdout = new java.io.BufferedReader(new java.io.InputStreamReader(cli.getInputStream(), StandardCharsets.UTF_8));
            assertEquals("ready", stdout.readLine());
            assertEquals(0, new ProcessBuilder("kill", "-INT", Long.toString(cli.pid())).start().waitFor());
            assertEquals("got TERM", stdout.readLine());
            assertTrue(cli.waitFor(30, TimeUnit.SECONDS), "the CLI did not exit");
            assertEquals(7, cli.exitValue(), () -> new String(readAll(cli.getErrorStream()), StandardCharsets.UTF_8));
        } finally {
            cli.destroyForcibly().waitFor();
            vessel("rm", "-f", "cli-sigint");
        }
    }

    private static byte[] readAll(java.io.InputStream in) {
        try {
            return in.readAllBytes();
        } catch (java.io.IOException e) {
            return new byte[0];
        }
    }
}
