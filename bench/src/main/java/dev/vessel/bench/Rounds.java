package dev.vessel.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Contenders timed in alternating rounds of one run, and how the benchmarks report them. */
final class Rounds {
    @FunctionalInterface
    interface Run {
        void once() throws Exception;
    }

    private Rounds() {
    }

    /**
     * Each contender once per round, in the map's order, so that a change of the machine's load meets
     * them all; the first {@code warmup} rounds are not kept. Milliseconds per contender.
     */
    static Map<String, List<Double>> measure(Map<String, Run> runs, int warmup, int rounds) throws Exception {
        Map<String, List<Double>> ms = new LinkedHashMap<>();
        for (int i = 0; i < warmup + rounds; i++) {
            for (Map.Entry<String, Run> run : runs.entrySet()) {
                long t0 = System.nanoTime();
                run.getValue().once();
                double took = (System.nanoTime() - t0) / 1e6;
                if (i >= warmup) {
                    ms.computeIfAbsent(run.getKey(), k -> new ArrayList<>()).add(took);
                }
            }
        }
        return ms;
    }

    /** Median, minimum and maximum of each contender. */
    static void printTable(Map<String, List<Double>> ms) {
        System.out.printf(Locale.ROOT, "%-14s %9s %9s %9s%n", "path", "median", "min", "max");
        for (Map.Entry<String, List<Double>> e : ms.entrySet()) {
            List<Double> s = e.getValue().stream().sorted().toList();
            System.out.printf(Locale.ROOT, "%-14s %7.1fms %7.1fms %7.1fms%n", e.getKey(), Stats.median(s), s.getFirst(),
                    s.getLast());
        }
    }

    /** The JSON line of one comparison: {@code bench}'s Vessel contender against a baseline, by their medians. */
    static void printComparison(String bench, List<Double> vessel, String baseline, List<Double> baselineMs) {
        double v = Stats.median(vessel);
        double b = Stats.median(baselineMs);
        System.out.printf(Locale.ROOT, "{\"bench\":\"%s\",\"vessel_ms\":%.1f,\"baseline\":\"%s\",\"baseline_ms\":%.1f,"
                + "\"ratio\":%.3f,\"runs\":%d}%n", bench, v, baseline, b, v / b, vessel.size());
    }
}
