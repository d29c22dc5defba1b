package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.node.cli.CliNode.Result;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code podman run} flags and small commands a podman user types, run against a real daemon. */
class PodmanParityCliTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static CliNode node;
    static Path rootfs;
    static String host;

    @BeforeAll
    static void startDaemon() throws Exception {
        // a task in a user namespace of its own (--uidmap) is no one on this host: it must reach its rootfs
        Files.setPosixFilePermissions(tmp, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        // a network whose only plugin sets up the task's lo: port mappings are recorded, the host is not touched
        Path cni = Files.createDirectories(tmp.resolve("cni"));
        Files.writeString(cni.resolve("10-lonet.conflist"),
                "{\"cniVersion\": \"1.0.0\", \"name\": \"lonet\", \"plugins\": [{\"type\": \"loopback\"}]}");
        node = CliNode.start(tmp, "parity", "--cni-config-dir", cni.toString());
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

    static Result vesselWith(Map<String, String> env, String... args) {
        return node.vesselWith(env, "", args);
    }

    static JsonNode inspect(String id) throws Exception {
        Result r = vessel("inspect", "--json", id);
        assertEquals(0, r.code(), r::toString);
        return JSON.readTree(r.out());
    }

    static int containers() throws Exception {
        return JSON.readTree(vessel("ps", "-a", "--json").out()).get("containers").size();
    }

    @Test
    void processFlagsReachTheTask() throws Exception {
        Path envFile = Files.writeString(tmp.resolve("env"), """
                # a comment, then a blank line

                A=from file
                B=replaced by -e
                FROM_HOST
                UNSET_ON_HOST
                """);
        Result r = vesselWith(Map.of("FROM_HOST", "host value"), "run", "--rm", "-w", "/home", "-u", "app:extra",
                "-h", "box.example", "--env-file", envFile.toString(), "-e", "B=from -e",
                "--ulimit", "nofile=1024:2048", "--ulimit", "core=-1", "--rootfs", rootfs.toString(), "sh", "-c",
                String.join("; ", "pwd", "id -u", "id -g", "hostname", "echo \"$A|$B|$FROM_HOST|${UNSET_ON_HOST-unset}\"",
                        "ulimit -Sn", "ulimit -Hn", "ulimit -c"));
        assertEquals(0, r.code(), r::toString);
        assertEquals(String.join("\n", "/home", "1000", "2000", "box.example", "from file|from -e|host value|unset",
                "1024", "2048", "unlimited", ""), r.out(), r::toString);

        Result named = vessel("run", "--rm", "-u", "app", "--rootfs", rootfs.toString(), "id", "-un");
        assertEquals("app\n", named.out(), named::toString);
        Result numeric = vessel("run", "--rm", "--user", "4242:4343", "--rootfs", rootfs.toString(), "sh", "-c",
                "echo $(id -u):$(id -g)");
        assertEquals("4242:4343\n", numeric.out(), numeric::toString);
        Result oom = vessel("run", "--rm", "--oom-score-adj", "700", "--rootfs", rootfs.toString(), "cat",
                "/proc/self/oom_score_adj");
        assertEquals("700\n", oom.out(), oom::toString);
    }

    @Test
    void uidmapAndGidmapGiveTheTaskAUserNamespaceOfItsOwn() {
        Result both = vessel("run", "--rm", "--uidmap", "0:200000:65536", "--gidmap", "0:300000:1000",
                "--gidmap", "1000:400000:1", "--rootfs", rootfs.toString(), "cat", "/proc/self/uid_map", "/proc/self/gid_map");
        assertEquals(0, both.code(), both::toString);
        assertEquals(List.of("0 200000 65536", "0 300000 1000", "1000 400000 1"),
                both.out().lines().map(l -> l.trim().replaceAll("\\s+", " ")).toList(), both::toString);
        Result uidsOnly = vessel("run", "--rm", "--uidmap", "0:200000:65536", "--rootfs", rootfs.toString(),
                "cat", "/proc/self/gid_map");
        assertEquals("0 200000 65536", uidsOnly.out().trim().replaceAll("\\s+", " "), uidsOnly::toString);
    }

    /** podman's --device: the host's node at the container's path, opened as its permissions allow. */
    @Test
    void aDeviceReachesTheTaskWithItsPermissionsAndNothingElseDoes() throws Exception {
        String read = "head -c 4 /dev/myzero | od -An -tx1 | tr -s ' '";
        Result zeros = vessel("run", "--rm", "--device", "/dev/zero:/dev/myzero", "--rootfs", rootfs.toString(), "sh",
                "-c", read + "; stat -c '%t:%T %F' /dev/myzero; echo x > /dev/myzero && echo wrote");
        assertEquals(0, zeros.code(), zeros::toString);
        assertEquals(" 00 00 00 00\n1:5 character special file\nwrote\n", zeros.out(), zeros::toString);

        Result readOnly = vessel("run", "--rm", "--device", "/dev/zero:/dev/myzero:r", "--rootfs", rootfs.toString(),
                "sh", "-c", read + "; echo x > /dev/myzero && echo wrote || echo refused");
        assertEquals(" 00 00 00 00\nrefused\n", readOnly.out(), readOnly::toString);
        assertTrue(readOnly.err().contains("Operation not permitted"), readOnly::toString);

        Result absent = vessel("run", "--rm", "--rootfs", rootfs.toString(), "sh", "-c",
                "test -e /dev/myzero && echo present || echo absent");
        assertEquals("absent\n", absent.out(), absent::toString);

        // HOST:PERMS keeps the host's path; the entry is recorded as given
        Result kept = vessel("run", "-d", "--name", "with-device", "--device", "/dev/full:rw", "--rootfs",
                rootfs.toString(), "sleep", "300");
        assertEquals(0, kept.code(), kept::toString);
        JsonNode device = inspect("with-device").at("/config/devices/0");
        assertEquals("/dev/full|/dev/full|rw", device.path("host_path").asText() + "|" + device.path("path").asText()
                + "|" + device.path("permissions").asText(), device::toString);
        assertEquals(0, vessel("rm", "-f", "with-device").code());

        // in a user namespace of its own too (the node is bound, never made)
        Result userns = vessel("run", "--rm", "--uidmap", "0:200000:65536", "--device", "/dev/zero:/dev/myzero",
                "--rootfs", rootfs.toString(), "sh", "-c", read);
        assertEquals(" 00 00 00 00\n", userns.out(), userns::toString);
    }

    @Test
    void aHostPathThatIsNoDeviceIsRefusedNamingTheField() throws Exception {
        int before = containers();
        Result file = vessel("run", "--rm", "--device", "/etc/passwd:/dev/passwd", "--rootfs", rootfs.toString(), "true");
        assertEquals(125, file.code(), file::toString);
        assertTrue(file.err().contains("devices[0].host_path: '/etc/passwd' is not a character or block device"),
                file::toString);
        Result missing = vessel("run", "--rm", "--device", "/dev/no-such-node", "--rootfs", rootfs.toString(), "true");
        assertTrue(missing.err().contains("devices[0].host_path: '/dev/no-such-node' does not exist"), missing::toString);
        assertEquals(before, containers());
    }

    @Test
    void entrypointTakesAProgramOrAJsonArray() {
        Result json = vessel("run", "--rm", "--entrypoint", "[\"sh\",\"-c\"]", "--rootfs", rootfs.toString(),
                "echo one two");
        assertEquals("one two\n", json.out(), json::toString);
        Result program = vessel("run", "--rm", "--entrypoint", "echo", "--rootfs", rootfs.toString(), "plain", "words");
        assertEquals("plain words\n", program.out(), program::toString);
    }

    @Test
    void labelsAndCidfile() throws Exception {
        Path labelFile = Files.writeString(tmp.resolve("labels"), "team=storage\n# not a label\nowner=file\n");
        Path cidfile = tmp.resolve("cid");
        Result run = vessel("run", "-d", "--name", "labelled", "-l", "app=web", "--label", "bare", "--label-file",
                labelFile.toString(), "-l", "owner=flag", "--cidfile", cidfile.toString(), "--rootfs",
                rootfs.toString(), "sleep", "300");
        assertEquals(0, run.code(), run::toString);
        assertEquals("labelled", Files.readString(cidfile));
        JsonNode labels = inspect("labelled").at("/config/labels");
        assertEquals(Map.of("app", "web", "bare", "", "team", "storage", "owner", "flag"),
                JSON.convertValue(labels, Map.class), labels::toString);

        int before = containers();
        Result again = vessel("run", "-d", "--cidfile", cidfile.toString(), "--rootfs", rootfs.toString(), "true");
        assertEquals(125, again.code(), again::toString);
        assertTrue(again.err().startsWith("vessel: --cidfile: ") && again.err().contains("exists"), again::toString);
        assertEquals(before, containers(), "nothing created");
        assertEquals(0, vessel("rm", "-f", "labelled").code());
    }

    @Test
    void pullNeverRefusesAnAbsentImageAndAlwaysPullsFirst() throws Exception {
        int before = containers();
        Result never = vessel("run", "--rm", "--pull=never", "127.0.0.1:1/absent/image:1", "true");
        assertEquals(125, never.code(), never::toString);
        assertTrue(never.err().startsWith("vessel: --pull=never: image '127.0.0.1:1/absent/image:1' is not on this node"),
                never::toString);
        assertFalse(never.err().contains("Pulling"), never::toString);
        // always: the pull comes first and its failure ends the run (nothing listens on port 1)
        Result always = vessel("run", "--rm", "--pull", "always", "-q", "127.0.0.1:1/absent/image:1", "true");
        assertEquals(125, always.code(), always::toString);
        assertFalse(always.err().contains("Pulling") || always.err().contains("Unable to find"), always::toString);
        // newer: a failed pull is forgiven only when the node has a copy; here it has none
        Result newer = vessel("run", "--rm", "--pull=newer", "127.0.0.1:1/absent/image:1", "true");
        assertEquals(125, newer.code(), newer::toString);
        assertFalse(newer.err().contains("--pull=newer: image"), newer::toString);
        assertTrue(newer.err().contains("127.0.0.1:1"), newer::toString);
        Result missing = vessel("run", "--rm", "127.0.0.1:1/absent/image:1", "true");
        assertEquals(125, missing.code(), missing::toString);
        assertTrue(missing.err().contains("Unable to find image"), missing::toString);
        assertEquals(before, containers());
    }

    @Test
    void platformOfTheNodeIsAcceptedOthersRefused() {
        String arch = System.getProperty("os.arch").equals("aarch64") ? "arm64" : "amd64";
        Result own = vessel("run", "--rm", "--platform", "linux/" + arch, "--rootfs", rootfs.toString(), "true");
        assertEquals(0, own.code(), own::toString);
    }

    @Test
    void badValuesAreRefusedNamingTheFlagAndCreateNothing() throws Exception {
        int before = containers();
        record Bad(List<String> args, String flag) {
        }
        for (Bad bad : List.of(
                new Bad(List.of("-w", "relative"), "--workdir"),
                new Bad(List.of("-u", ""), "--user"),
                new Bad(List.of("-u", "nosuchuser"), "--user"),
                new Bad(List.of("--hostname", "bad_host!"), "--hostname"),
                new Bad(List.of("--oom-score-adj", "1001"), "--oom-score-adj"),
                new Bad(List.of("--entrypoint", "[1, 2]"), "--entrypoint"),
                new Bad(List.of("--entrypoint", "[\"sh\""), "--entrypoint"),
                new Bad(List.of("--env-file", "/nonexistent/env"), "--env-file"),
                new Bad(List.of("--label-file", "/nonexistent/labels"), "--label-file"),
                new Bad(List.of("-l", "=v"), "--label"),
                new Bad(List.of("--ulimit", "nofile"), "--ulimit"),
                new Bad(List.of("--ulimit", "files=1"), "--ulimit"),
                new Bad(List.of("--ulimit", "nofile=2048:1024"), "--ulimit"),
                new Bad(List.of("--ulimit", "nofile=many"), "--ulimit"),
                new Bad(List.of("--device", "dev/zero"), "--device"),
                new Bad(List.of("--device", "/dev/zero:/dev/z:rwx"), "--device"),
                new Bad(List.of("--device", "/dev/zero:/dev/z:r:w"), "--device"),
                new Bad(List.of("--pull", "sometimes"), "--pull"),
                new Bad(List.of("--uidmap", "0:100000"), "--uidmap"),
                new Bad(List.of("--gidmap", "0:x:1"), "--gidmap"),
                new Bad(List.of("--uidmap", "0:100000:0"), "--uidmap"),
                new Bad(List.of("--uidmap", "0:100000:65536", "--userns", "host"), "--uidmap"),
                new Bad(List.of("--platform", "linux/s390x"), "--platform"),
                new Bad(List.of("--platform", "windows/amd64"), "--platform"))) {
            List<String> args = new ArrayList<>(List.of("run", "--rm"));
            args.addAll(bad.args());
            args.addAll(List.of("--rootfs", rootfs.toString(), "true"));
            Result r = vessel(args.toArray(String[]::new));
            assertEquals(125, r.code(), bad + " -> " + r);
            assertTrue(r.err().startsWith("vessel: ") && r.err().contains(bad.flag()), bad + " -> " + r);
            assertFalse(r.err().contains("\tat "), r::toString);
        }
        assertEquals(before, containers());
    }

    @Test
    void theNewCommandsAnswerHelp() {
        for (String command : List.of("wait", "port", "cp", "rename", "version")) {
            Result help = vessel(command, "--help");
            assertEquals(0, help.code(), help::toString);
            assertTrue(help.out().contains("Usage: vessel " + command), help::toString);
        }
        Result run = vessel("run", "--help");
        assertTrue(run.out().contains("-h, --hostname") && run.out().contains("--pull"), run::toString);
    }

    @Test
    void versionShowsTheClientAndTheDaemon() throws Exception {
        Result text = vessel("version");
        assertEquals(0, text.code(), text::toString);
        assertTrue(text.out().startsWith("Client:\nVersion:"), text::toString);
        assertTrue(text.out().contains("\nServer:\nVersion:") && text.out().contains("API Version:  v1"), text::toString);
        Result json = vessel("version", "--format", "json");
        assertEquals(0, json.code(), json::toString);
        JsonNode versions = JSON.readTree(json.out());
        assertEquals(System.getProperty("java.version"), versions.at("/Client/JavaVersion").asText(), json::toString);
        assertEquals(JSON.readTree(vessel("info", "--json").out()).path("version").asText(),
                versions.at("/Server/Version").asText());
        Result bad = vessel("version", "--format", "{{.Client.Version}}");
        assertEquals(125, bad.code(), bad::toString);
        assertTrue(bad.err().startsWith("vessel: --format: "), bad::toString);
        Result unreachable = Stream.of(0).map(i -> {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ByteArrayOutputStream err = new ByteArrayOutputStream();
            int code = Vessel.execute(new Vessel(new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8), new ByteArrayInputStream(new byte[0]), false,
                    Map.of()), "--host", "unix://" + tmp.resolve("no-daemon.sock"), "version");
            return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        }).findFirst().orElseThrow();
        assertEquals(125, unreachable.code(), unreachable::toString);
        assertTrue(unreachable.out().startsWith("Client:") && !unreachable.out().contains("Server:"), unreachable::toString);
    }

    @Test
    void waitPrintsEachExitCodeInTheOrderGiven() throws Exception {
        assertEquals(0, vessel("run", "-d", "--name", "waits-3", "--rootfs", rootfs.toString(), "sh", "-c",
                "sleep 1; exit 3").code());
        assertEquals(0, vessel("run", "-d", "--name", "waits-killed", "--rootfs", rootfs.toString(), "sleep", "300").code());
        assertEquals(0, vessel("kill", "-s", "KILL", "waits-killed").code());
        Result waited = vessel("wait", "waits-3", "waits-killed", "waits-nobody");
        assertEquals(125, waited.code(), waited::toString);
        assertEquals("3\n137\n", waited.out(), waited::toString);
        assertTrue(waited.err().startsWith("vessel: ") && waited.err().contains("waits-nobody"), waited::toString);
        Result again = vessel("wait", "waits-3"); // an ended container answers at once
        assertEquals("3\n", again.out(), again::toString);
        assertEquals(0, vessel("rm", "waits-3", "waits-killed").code());
    }

    @Test
    void portListsThePublishedPorts() {
        Result run = vessel("run", "-d", "--name", "ported", "--network", "lonet", "-p", "8080:80", "-p", "5353:53/udp",
                "--rootfs", rootfs.toString(), "sleep", "300");
        assertEquals(0, run.code(), run::toString);
        Result all = vessel("port", "ported");
        assertEquals(0, all.code(), all::toString);
        assertEquals("80/tcp -> 0.0.0.0:8080\n53/udp -> 0.0.0.0:5353\n", all.out());
        assertEquals("0.0.0.0:5353\n", vessel("port", "ported", "53/udp").out());
        Result none = vessel("port", "ported", "81");
        assertEquals(125, none.code(), none::toString);
        assertTrue(none.err().contains("does not publish port 81/tcp"), none::toString);
        Result bad = vessel("port", "ported", "http");
        assertEquals(125, bad.code(), bad::toString);
        assertTrue(bad.err().contains("PORT: 'http'"), bad::toString);
        Result unpublished = vessel("run", "--rm", "--rootfs", rootfs.toString(), "true");
        assertEquals(0, unpublished.code(), unpublished::toString);
        assertEquals(0, vessel("rm", "-f", "ported").code());
    }

    @Test
    void cpCopiesBothWaysAsTarStreamsResolvingPathsInsideTheContainer() throws Exception {
        assertEquals(0, vessel("run", "-d", "--name", "cpbox", "--rootfs", rootfs.toString(), "sleep", "300").code());
        Result made = vessel("exec", "cpbox", "sh", "-c", String.join(" && ", "mkdir -p /data/sub",
                "echo hello > /data/sub/f", "ln -s /data/sub /data/link", "ln -s ../../.. /data/up"));
        assertEquals(0, made.code(), made::toString);

        Path out = Files.createDirectories(tmp.resolve("cp-out"));
        Result tree = vessel("cp", "cpbox:/data", out.toString());
        assertEquals(0, tree.code(), tree::toString);
        assertEquals("hello\n", Files.readString(out.resolve("data/sub/f")));
        assertEquals(Path.of("/data/sub"), Files.readSymbolicLink(out.resolve("data/link")), "a symlink is copied as one");
        Result renamed = vessel("cp", "cpbox:/data/link/f", out.resolve("renamed.txt").toString());
        assertEquals(0, renamed.code(), renamed::toString);
        assertEquals("hello\n", Files.readString(out.resolve("renamed.txt")));
        // a symlink climbing out of the container's root stops at it: this is the container's passwd, not the host's
        Result passwd = vessel("cp", "cpbox:/data/up/etc/passwd", out.resolve("passwd").toString());
        assertEquals(0, passwd.code(), passwd::toString);
        assertEquals(Files.readString(rootfs.resolve("etc/passwd")), Files.readString(out.resolve("passwd")));
        Result tar = vessel("cp", "cpbox:/data/sub/f", "-");
        assertEquals(0, tar.code(), tar::toString);
        try (var entries = new TarArchiveInputStream(new ByteArrayInputStream(tar.out().getBytes(StandardCharsets.UTF_8)))) {
            assertEquals("f", entries.getNextEntry().getName(), tar::toString);
            assertEquals("hello\n", new String(entries.readAllBytes(), StandardCharsets.UTF_8));
            assertEquals(null, entries.getNextEntry());
        }

        Path in = Files.createDirectories(tmp.resolve("cp-in/tree/inner"));
        Files.writeString(in.resolve("a.txt"), "from the host\n");
        Result intoDir = vessel("cp", in.getParent().toString(), "cpbox:/data/link");
        assertEquals(0, intoDir.code(), intoDir::toString);
        String escape = "escape-" + UUID.randomUUID();
        Result newName = vessel("cp", in.resolve("a.txt").toString(), "cpbox:/data/up/tmp/" + escape);
        assertEquals(0, newName.code(), newName::toString);
        assertFalse(Files.exists(Path.of("/tmp", escape)), "written inside the container's root, not the host's");
        Result seen = vessel("exec", "cpbox", "sh", "-c", "cat /data/sub/tree/inner/a.txt /tmp/" + escape);
        assertEquals("from the host\nfrom the host\n", seen.out(), seen::toString);
        assertEquals("RUNNING", inspect("cpbox").at("/status/state").asText(), "thawed after each copy");

        record Bad(List<String> args, String says) {
        }
        for (Bad bad : List.of(
                new Bad(List.of("cpbox:/no/such", out.toString()), "no such file or directory"),
                new Bad(List.of("cpbox:relative", out.toString()), "SRC: 'relative' must be an absolute path"),
                new Bad(List.of(out.toString(), out.toString()), "one of them must be CONTAINER:PATH"),
                new Bad(List.of("cpbox:/data", "cpbox:/tmp"), "between two containers"),
                new Bad(List.of(in.resolve("a.txt").toString(), "cpbox:/data/sub/f/x"), "parent directory"),
                new Bad(List.of("nobody-here:/etc", out.toString()), "nobody-here"))) {
            List<String> args = new ArrayList<>(List.of("cp"));
            args.addAll(bad.args());
            Result r = vessel(args.toArray(String[]::new));
            assertEquals(125, r.code(), bad + " -> " + r);
            assertTrue(r.err().startsWith("vessel: ") && r.err().contains(bad.says()), bad + " -> " + r);
        }
        assertEquals(0, vessel("kill", "-s", "KILL", "cpbox").code());
        assertEquals("137\n", vessel("wait", "cpbox").out());
        Result ended = vessel("cp", "cpbox:/data", out.toString());
        assertEquals(125, ended.code(), ended::toString);
        assertTrue(ended.err().contains("cp needs it running"), ended::toString);
        assertEquals(0, vessel("rm", "cpbox").code());
    }
}
