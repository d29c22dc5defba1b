package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vessel.node.cli.CliNode.Result;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code vessel stats}, {@code vessel events} and {@code vessel system df|prune} against a real daemon. */
class StatsEventsCliTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    static CliNode node;
    static Path rootfs;
    static String host;

    @BeforeAll
    static void startDaemon() throws Exception {
        node = CliNode.start(tmp, "stats");
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

    static Result vesselWithStdin(String stdin, String... args) {
        return node.vesselWith(Map.of(), stdin, args);
    }

    static Result ok(String... args) {
        Result r = vessel(args);
        assertEquals(0, r.code(), () -> String.join(" ", args) + "\n" + r);
        return r;
    }

    @Test
    void statsShowsABusyContainersCpuAndMemoryAndAWritersGrowth() throws Exception {
        ok("run", "-d", "--name", "st-burn", "--memory", "64m", "--rootfs", rootfs.toString(), "sh", "-c", "while :; do :; done");
        try {
            Result table = ok("stats", "--no-stream", "st-burn");
            List<String> lines = table.out().lines().toList();
            assertEquals(2, lines.size(), table::toString);
            assertTrue(lines.get(0).matches("ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET IO +BLOCK IO +PIDS"), table::toString);
            String[] cells = lines.get(1).split(" {3,}");
            assertEquals("st-burn", cells[0], table::toString);
            double cpu = Double.parseDouble(cells[2].replace("%", ""));
            assertTrue(cpu > 0, table::toString);
            assertTrue(cells[3].endsWith(" / 64.0MB"), table::toString);
            assertFalse(cells[3].startsWith("0B"), table::toString);
            assertTrue(cells[5].matches("\\S+ / \\S+"), table::toString); // its own network namespace is counted

            JsonNode json = JSON.readTree(ok("stats", "--no-stream", "--format", "json", "st-burn").out());
            assertEquals(1, json.size(), json::toString);
            assertTrue(json.get(0).get("cpu_percent").asDouble() > 0, json::toString);
            assertEquals(64L << 20, json.get(0).get("mem_limit").asLong(), json::toString);
            assertTrue(json.get(0).get("pids").asLong() >= 1, json::toString);
        } finally {
            vessel("rm", "-f", "st-burn");
        }

        ok("run", "-d", "--name", "st-write", "--memory", "256m", "--rootfs", rootfs.toString(), "sleep", "1000");
        try {
            JsonNode before = JSON.readTree(ok("stats", "--no-stream", "--format", "json", "st-write").out()).get(0);
            ok("exec", "st-write", "dd", "if=/dev/zero", "of=/tmp/st-write-" + UUID.randomUUID(), "bs=1048576", "count=32");
            JsonNode after = JSON.readTree(ok("stats", "--no-stream", "--format", "json", "st-write").out()).get(0);
            long grew = after.get("mem_usage").asLong() - before.get("mem_usage").asLong();
            long written = after.get("block_output").asLong() - before.get("block_output").asLong();
            // the page cache of what it wrote is charged to its memory; block I/O where the file system counts it
            assertTrue(grew >= 16L << 20 || written >= 16L << 20, () -> before + "\n" + after);
        } finally {
            vessel("rm", "-f", "st-write");
        }
        Result ended = vessel("stats", "--no-stream", "st-write");
        assertEquals(125, ended.code(), ended::toString);
    }

    @Test
    void statsStreamsATablePerRefreshUntilItsContainersAreGone() throws Exception {
        for (String command : List.of("stats", "events", "system", "system df", "system prune")) {
            Result help = vessel((command + " --help").split(" "));
            assertEquals(0, help.code(), help::toString);
            assertTrue(help.out().contains("Usage: vessel " + command), help::toString);
        }
        ok("run", "-d", "--name", "st-stream", "--rootfs", rootfs.toString(), "sleep", "1000");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream print = new PrintStream(out, true, StandardCharsets.UTF_8);
        int[] code = {-1};
        Thread stats = Thread.ofPlatform().start(() -> code[0] = Vessel.execute(new Vessel(print, print,
                new ByteArrayInputStream(new byte[0]), false, Map.of()), "--host", host, "stats", "-i", "1", "st-stream"));
        try {
            while (headers(out) < 2 && stats.isAlive()) {
                Thread.sleep(100);
            }
            assertTrue(headers(out) >= 2, () -> out.toString(StandardCharsets.UTF_8));
        } finally {
            vessel("rm", "-f", "st-stream");
        }
        stats.join(); // its container gone, it ends
        assertEquals(0, code[0], () -> out.toString(StandardCharsets.UTF_8));
        String printed = out.toString(StandardCharsets.UTF_8);
        assertTrue(printed.lines().filter(l -> l.startsWith("st-stream ")).count() >= 2, printed);
    }

    private static long headers(ByteArrayOutputStream out) {
        return out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("ID ")).count();
    }

    @Test
    void eventsStreamTheLifecycleInOrderWithTheExitCode() throws Exception {
        String since = Instant.now().toString();
        Process events = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"), Vessel.class.getName(),
                "--host", host, "events", "--json", "--since", since, "--filter", "container=ev-one").start();
        try {
            ok("run", "-d", "--name", "ev-one", "--rootfs", rootfs.toString(), "sh", "-c",
                    "trap 'exit 3' TERM; while :; do sleep 0.1; done");
            ok("run", "-d", "--name", "ev-other", "--rootfs", rootfs.toString(), "true");
            ok("stop", "ev-one");
            ok("rm", "ev-one");
            BufferedReader lines = new BufferedReader(new InputStreamReader(events.getInputStream(), StandardCharsets.UTF_8));
            List<String> actions = new ArrayList<>();
            JsonNode died = null;
            while (!actions.contains("remove")) {
                String line = lines.readLine();
                assertTrue(line != null, () -> "the stream ended after " + actions);
                JsonNode event = JSON.readTree(line);
                assertEquals("ev-one", event.get("id").asText(), line);
                assertEquals("container", event.get("type").asText(), line);
                actions.add(event.get("action").asText());
                if (event.get("action").asText().equals("died")) {
                    died = event;
                }
            }
            assertEquals(List.of("create", "start", "stop", "died", "remove"), actions);
            assertEquals("3", died.get("attributes").get("exit_code").asText(), died::toString);
            assertEquals(rootfs.toString(), died.get("attributes").get("image").asText(), died::toString);
        } finally {
            events.destroyForcibly().waitFor();
            vessel("rm", "-f", "ev-other");
        }

        // the kept events, podman's way, ending at --until
        Result past = ok("events", "--since", since, "--until", "0s", "--filter", "container=ev-other", "--filter", "event=start");
        List<String> lines = past.out().lines().toList();
        assertEquals(1, lines.size(), past::toString);
        assertTrue(lines.get(0).matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{9} \\+0000 UTC container start ev-other"
                + " \\(image=" + rootfs + ", name=ev-other, isolation=process\\)"), past::toString);
        Result bad = vessel("events", "--filter", "colour=red", "--until", "0s");
        assertEquals(125, bad.code(), bad::toString);
        assertTrue(bad.err().contains("filter"), bad::toString);
    }

    @Test
    void pausesKillsAndAnOomAreTold() throws Exception {
        String since = Instant.now().toString();
        ok("run", "-d", "--name", "ev-pause", "--rootfs", rootfs.toString(), "sleep", "1000");
        ok("pause", "ev-pause");
        ok("unpause", "ev-pause");
        ok("rm", "-f", "ev-pause");
        assertEquals(List.of("create", "start", "pause", "unpause", "kill", "died", "remove"), actions(since, "ev-pause"));

        // tail keeps a line that never ends in memory: the 32 MiB limit ends it
        Result oom = vessel("run", "--name", "ev-oom", "--memory", "32m", "--rootfs", rootfs.toString(), "tail", "/dev/zero");
        assertEquals(137, oom.code(), oom::toString);
        assertEquals(List.of("create", "start", "oom", "died"), actions(since, "ev-oom"));
        ok("rm", "ev-oom");
    }

    private static List<String> actions(String since, String id) throws Exception {
        Result r = ok("events", "--json", "--since", since, "--until", "0s", "--filter", "container=" + id);
        List<String> actions = new ArrayList<>();
        for (String line : r.out().lines().toList()) {
            actions.add(JSON.readTree(line).get("action").asText());
        }
        return actions;
    }

    /** A client that asks for events and never reads holds nothing up: the daemon drops it once it falls behind. */
    @Test
    void aClientThatNeverReadsDoesNotStallTheNode() throws Exception {
        try (SocketChannel idle = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            idle.connect(UnixDomainSocketAddress.of(node.daemon().socket));
            idle.write(ByteBuffer.wrap("GET /v1/events HTTP/1.1\r\nHost: vessel\r\n\r\n".getBytes(StandardCharsets.US_ASCII)));
            for (int i = 0; i < 3; i++) {
                Result run = vessel("run", "--rm", "--rootfs", rootfs.toString(), "sh", "-c", "echo run " + i);
                assertEquals(0, run.code(), run::toString);
                assertEquals("run " + i + "\n", run.out());
            }
        }
    }

    @Test
    void systemDfCountsAPullAndARemovalAndPruneKeepsWhatRuns() throws Exception {
        JsonNode empty = JSON.readTree(ok("system", "df", "--format", "json").out());
        Path layout = tmp.resolve("layout");
        umoci("init", "--layout", layout.toString());
        umoci("new", "--image", layout + ":bb");
        umoci("insert", "--image", layout + ":bb", rootfs.toString(), "/");
        String image = "oci:" + layout + ":bb";
        String since = Instant.now().toString();
        ok("pull", image);
        JsonNode pull = JSON.readTree(ok("events", "--json", "--since", since, "--until", "0s", "--filter", "type=image").out());
        assertEquals("pull", pull.get("action").asText(), pull::toString);
        assertEquals(image, pull.get("id").asText(), pull::toString);
        assertTrue(pull.get("attributes").get("digest").asText().startsWith("sha256:"), pull::toString);

        JsonNode pulled = JSON.readTree(ok("system", "df", "--format", "json").out());
        assertEquals(empty.get("images").size() + 1, pulled.get("images").size(), pulled::toString);
        assertTrue(pulled.get("store").get("size_bytes").asLong() > empty.get("store").get("size_bytes").asLong() + (256 << 10),
                pulled::toString);
        assertTrue(pulled.get("store").get("reclaimable_bytes").asLong() > 0, pulled::toString); // no container uses it

        ok("run", "-d", "--name", "df-keep", image, "sleep", "1000");
        ok("exec", "df-keep", "dd", "if=/dev/zero", "of=/written", "bs=1024", "count=512");
        ok("run", "--name", "df-ended", image, "true");
        ok("volume", "create", "df-vol");
        ok("run", "--name", "df-volume-user", "-v", "df-vol:/data", image, "dd", "if=/dev/zero", "of=/data/f", "bs=1024",
                "count=300");
        JsonNode used = JSON.readTree(ok("system", "df", "--format", "json").out());
        JsonNode volume = stream(used.get("volumes")).filter(v -> v.get("name").asText().equals("df-vol")).findFirst()
                .orElseThrow(() -> new AssertionError(used.toString()));
        assertTrue(volume.get("size_bytes").asLong() >= 300 << 10, used::toString);
        assertTrue(volume.get("in_use").asBoolean(), used::toString); // its user has ended but is still there
        JsonNode keep = container(used, "df-keep");
        assertTrue(keep.get("rootfs_bytes").asLong() >= 512 << 10, used::toString); // its writes, not its image
        assertTrue(keep.get("rootfs_bytes").asLong() < pulled.get("store").get("size_bytes").asLong(), used::toString);
        assertFalse(keep.get("reclaimable").asBoolean(), used::toString);
        assertTrue(container(used, "df-ended").get("reclaimable").asBoolean(), used::toString);
        Result table = ok("system", "df", "-v");
        assertTrue(table.out().lines().anyMatch(l -> l.matches("Images +\\d+ +1 +\\S+ +\\S+ \\(\\d+%\\)")), table::toString);
        assertTrue(table.out().lines().anyMatch(l -> l.startsWith("df-ended ") && l.contains("TERMINATED")), table::toString);

        // asked, and refused: nothing goes
        Result refused = vesselWithStdin("n\n", "system", "prune");
        assertEquals(0, refused.code(), refused::toString);
        assertTrue(refused.out().contains("Are you sure you want to continue? [y/N]"), refused::toString);
        assertEquals(0, vessel("inspect", "df-ended").code());

        Result prune = ok("system", "prune", "-f", "--all");
        assertTrue(prune.out().contains("Deleted Containers\ndf-ended\ndf-volume-user\n"), prune::toString);
        JsonNode pruned = JSON.readTree(ok("system", "df", "--format", "json").out());
        assertTrue(stream(pruned.get("volumes")).anyMatch(v -> v.get("name").asText().equals("df-vol")
                && !v.get("in_use").asBoolean()), pruned::toString); // a volume is the user's: prune keeps it
        assertFalse(prune.out().contains("df-keep"), prune::toString);
        assertFalse(prune.out().contains("Deleted Images"), prune::toString); // the running one's image stays
        assertEquals(125, vessel("inspect", "df-ended").code());
        assertEquals("RUNNING", JSON.readTree(ok("inspect", "--json", "df-keep").out()).at("/status/state").asText());

        ok("rm", "-f", "df-keep");
        Result all = ok("system", "prune", "-f", "--all");
        assertTrue(all.out().contains("Deleted Images\n" + image + "\n"), all::toString);
        JsonNode after = JSON.readTree(ok("system", "df", "--format", "json").out());
        assertEquals(empty.get("images").size(), after.get("images").size(), after::toString);
        assertTrue(after.get("store").get("size_bytes").asLong() < pulled.get("store").get("size_bytes").asLong(), after::toString);
        assertTrue(stream(after.get("containers")).noneMatch(c -> c.get("id").asText().startsWith("df-")), after::toString);
    }

    private static JsonNode container(JsonNode df, String id) {
        return stream(df.get("containers")).filter(c -> c.get("id").asText().equals(id)).findFirst()
                .orElseThrow(() -> new AssertionError(id + " not in " + df));
    }

    private static Stream<JsonNode> stream(JsonNode array) {
        List<JsonNode> list = new ArrayList<>();
        array.forEach(list::add);
        return list.stream();
    }

    private static void umoci(String... args) throws Exception {
        Process p = new ProcessBuilder(Stream.concat(Stream.of("umoci"), Stream.of(args)).toList())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), "umoci " + String.join(" ", args) + ":\n" + out);
    }
}
