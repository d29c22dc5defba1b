package dev.vessel.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a hostile API client costs the daemon: each bad request of {@code HostileClientTest} sent to a
 * real vesseld (from the built tree), timed from the request's first byte to the answer's last, beside
 * the baseline of the same run: an ordinary bad request (a negative memory limit) refused by the same
 * validation. A refusal that took much longer than the baseline, or answered with much more than a
 * small error, would be a way to slow the daemon or to make it echo what it was sent.
 */
final class HostileApiBench {
    private static final int ROUNDS = Integer.getInteger("bench.rounds", 20);
    private static final String CGROUP_PARENT = "vessel-hostile-bench";
    /** Large enough that the megabyte inputs reach the parser rather than the 413 check. */
    private static final int MAX_BODY = 4 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    private HostileApiBench() {
    }

    public static void main(String[] args) throws Exception {
        Path repository = BenchDaemon.repositoryRoot("hostile-api");
        Path work = Files.createTempDirectory(Path.of("/var/tmp"), "vessel-hb");
        BenchDaemon daemon = null;
        try {
            daemon = BenchDaemon.start(repository, work, CGROUP_PARENT, "--max-body-bytes", Integer.toString(MAX_BODY));
            measure(daemon.api);
        } finally {
            try {
                if (daemon != null) {
                    daemon.stop();
                }
            } finally {
                BenchDaemon.removeCgroup(CGROUP_PARENT);
                Stats.deleteTree(work);
            }
        }
    }

    private static Map<String, String> inputs() {
        String huge = "a".repeat(1 << 20);
        StringBuilder manyEnv = new StringBuilder("{\"host_rootfs\":\"/\",\"env\":[");
        for (int i = 0; i < 20_000; i++) {
            manyEnv.append(i == 0 ? "" : ",").append("{\"name\":\"=").append(i).append("\"}");
        }
        Map<String, String> inputs = new LinkedHashMap<>();
        inputs.put("baseline", "{\"host_rootfs\":\"/\",\"resources\":{\"memory_bytes\":-1}}");
        inputs.put("exponent-string", "{\"host_rootfs\":\"/\",\"resources\":{\"memory_bytes\":\"1e6400000\"}}");
        inputs.put("exponent-number", "{\"host_rootfs\":\"/\",\"resources\":{\"memory_bytes\":1e64000000}}");
        inputs.put("megabyte-digits", "{\"host_rootfs\":\"/\",\"resources\":{\"memory_bytes\":" + "9".repeat(1 << 20) + "}}");
        inputs.put("megabyte-string", "{\"host_rootfs\":\"/\",\"hostname\":\"" + huge + "\"}");
        inputs.put("megabyte-key", "{\"" + huge + "\":1}");
        inputs.put("20k-bad-entries", manyEnv + "]}");
        inputs.put("deep-nesting", "{\"resources\":" + "[".repeat(500_000) + "]".repeat(500_000) + "}");
        return inputs;
    }

    private static void measure(UnixHttp api) throws Exception {
        Map<String, String> inputs = inputs();
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        Map<String, UnixHttp.Response> answers = new LinkedHashMap<>();
        for (int round = -3; round < ROUNDS; round++) { // three warm-up rounds
            for (Map.Entry<String, String> input : inputs.entrySet()) {
                long t0 = System.nanoTime();
                UnixHttp.Response r = api.send("POST", "/v1/containers", input.getValue());
                double took = (System.nanoTime() - t0) / 1e6;
                if (r.status() != 400) {
                    throw new IllegalStateException(input.getKey() + ": expected a refusal, got HTTP " + r.status());
                }
                if (round >= 0) {
                    ms.computeIfAbsent(input.getKey(), k -> new ArrayList<>()).add(took);
                }
                answers.put(input.getKey(), r);
            }
        }
        if (JSON.readTree(api.call("GET", "/v1/containers", null)).path("containers").size() != 0) {
            throw new IllegalStateException("a refused request created a container");
        }
        System.out.printf(Locale.ROOT, "hostile-api: POST /v1/containers, each refused with 400; %d rounds, medians%n",
                ROUNDS);
        System.out.printf(Locale.ROOT, "%-17s %10s %9s %9s %8s%n", "input", "request", "median", "max", "answer");
        double baseline = Stats.median(ms.get("baseline"));
        for (Map.Entry<String, List<Double>> e : ms.entrySet()) {
            String name = e.getKey();
            List<Double> sorted = e.getValue().stream().sorted().toList();
            int requestBytes = inputs.get(name).length();
            int answerBytes = answers.get(name).body().length();
            System.out.printf(Locale.ROOT, "%-17s %9dB %7.2fms %7.2fms %7dB%n", name, requestBytes, Stats.median(sorted),
                    sorted.getLast(), answerBytes);
            if (!name.equals("baseline")) {
                System.out.printf(Locale.ROOT, "{\"bench\":\"hostile-api\",\"input\":\"%s\",\"request_bytes\":%d,"
                        + "\"median_ms\":%.2f,\"max_ms\":%.2f,\"baseline_ms\":%.2f,\"ratio\":%.2f,\"answer_bytes\":%d,"
                        + "\"runs\":%d}%n", name, requestBytes, Stats.median(sorted), sorted.getLast(), baseline,
                        Stats.median(sorted) / baseline, answerBytes, ROUNDS);
            }
        }
    }
}
