package dev.vessel.node.oci;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Resources;
import dev.vessel.core.validation.ConfigValidator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * An OCI {@code linux.resources} object (runc's {@code update --resources}) applied to a container's
 * {@link Resources}: the fields it gives replace the container's, those it leaves out are kept. What Vessel's
 * resources cannot express is refused by its JSON path: a period without a quota (Vessel keeps a CPU limit as
 * quota/period), a member it does not know.
 */
public final class OciResources {
    private static final long DEFAULT_CPU_PERIOD = 100_000;

    private OciResources() {
    }

    public static Resources update(Resources current, JsonNode resources) {
        if (!resources.isObject()) {
            throw refused("linux.resources", "must be a JSON object");
        }
        known(resources, "linux.resources", "memory", "cpu", "pids", "hugepageLimits");
        Resources.Builder r = current.toBuilder();
        JsonNode memory = resources.path("memory");
        known(memory, "linux.resources.memory", "limit", "swap", "reservation");
        long limit = number(memory, "limit", "linux.resources.memory.limit");
        if (limit > 0) {
            r.setMemoryBytes(limit);
        } else if (limit == -1) {
            r.setMemoryBytes(0); // unlimited
        } else if (limit < -1) {
            throw refused("linux.resources.memory.limit", limit + " is not a size in bytes (-1: unlimited)");
        }
        long reservation = number(memory, "reservation", "linux.resources.memory.reservation");
        if (reservation > 0) {
            r.setMemoryReservationBytes(reservation);
        } else if (reservation == -1) {
            r.setMemoryReservationBytes(0); // none
        } else if (reservation < -1) {
            throw refused("linux.resources.memory.reservation", reservation + " is not a size in bytes (-1: none)");
        }
        // no swap limit in Vessel (a container's swap is the node's policy), as at create; only its sense checked
        long swap = number(memory, "swap", "linux.resources.memory.swap");
        long memoryAfter = r.getMemoryBytes();
        if (swap < -1 || (swap > 0 && memoryAfter > 0 && swap < memoryAfter)) {
            throw refused("linux.resources.memory.swap", swap + " must be -1 (unlimited) or at least the memory"
                    + " limit (" + memoryAfter + "): it counts memory and swap together");
        }
        JsonNode cpu = resources.path("cpu");
        known(cpu, "linux.resources.cpu", "quota", "period", "shares", "cpus", "mems");
        if (cpu.has("cpus")) {
            r.setCpusetCpus(cpu.get("cpus").asText()); // "": all again; the daemon checks the list
        }
        if (cpu.has("mems")) {
            r.setCpusetMems(cpu.get("mems").asText());
        }
        long shares = number(cpu, "shares", "linux.resources.cpu.shares");
        if (shares != 0) {
            if (shares < ConfigValidator.MIN_CPU_SHARES || shares > ConfigValidator.MAX_CPU_SHARES) {
                throw refused("linux.resources.cpu.shares", shares + " is not a CPU weight from "
                        + ConfigValidator.MIN_CPU_SHARES + " to " + ConfigValidator.MAX_CPU_SHARES);
            }
            r.setCpuShares(shares);
        }
        long quota = number(cpu, "quota", "linux.resources.cpu.quota");
        long period = number(cpu, "period", "linux.resources.cpu.period");
        if (period < 0 || (period > 0 && (period < 1000 || period > 1_000_000))) {
            throw refused("linux.resources.cpu.period", period + " is not a period in µs (1000 to 1000000)");
        }
        if (quota > 0) {
            r.setCpus((double) quota / (period > 0 ? period : DEFAULT_CPU_PERIOD));
        } else if (quota == -1) {
            r.setCpus(0); // unlimited
        } else if (quota < -1) {
            throw refused("linux.resources.cpu.quota", quota + " is not a quota in µs (-1: unlimited)");
        } else if (period > 0) {
            throw refused("linux.resources.cpu.period", "give it with linux.resources.cpu.quota: Vessel keeps a CPU"
                    + " limit as quota/period");
        }
        JsonNode pids = resources.path("pids");
        known(pids, "linux.resources.pids", "limit");
        if (pids.has("limit")) {
            long pidsLimit = number(pids, "limit", "linux.resources.pids.limit");
            r.setPids(pidsLimit > 0 ? pidsLimit : -1);
        }
        if (resources.has("hugepageLimits")) {
            r.clearHugepageLimits().putAllHugepageLimits(hugepageLimits(resources.get("hugepageLimits"),
                    OciResources::refused));
        }
        return r.build();
    }

    /**
     * {@code linux.resources.hugepageLimits}, {@code [{"pageSize": "2MB", "limit": bytes}, …]}, as the resources'
     * {@code hugepage_limits}; whether the node has each size the daemon checks. {@code refused} makes the error of a
     * JSON path and its problem (a bundle's names its file).
     */
    static Map<String, Long> hugepageLimits(JsonNode limits, BiFunction<String, String, VesselException> refused) {
        String at = "linux.resources.hugepageLimits";
        if (!limits.isArray()) {
            throw refused.apply(at, "must be a JSON array");
        }
        Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i < limits.size(); i++) {
            JsonNode limit = limits.get(i);
            String size = limit.path("pageSize").asText("");
            JsonNode bytes = limit.path("limit");
            if (size.isEmpty()) {
                throw refused.apply(at + "[" + i + "].pageSize", "must name a page size, such as 2MB");
            }
            if (!bytes.canConvertToLong() || bytes.asLong() < 0) {
                throw refused.apply(at + "[" + i + "].limit", bytes + " is not a number of bytes");
            }
            out.put(size, bytes.asLong());
        }
        return out;
    }

    /** An integer member, 0 when absent or null. */
    private static long number(JsonNode node, String field, String at) {
        JsonNode value = node.path(field);
        if (value.isMissingNode() || value.isNull()) {
            return 0;
        }
        if (!value.isIntegralNumber()) {
            throw refused(at, value + " is not an integer");
        }
        return value.asLong();
    }

    private static void known(JsonNode node, String at, String... names) {
        Set<String> allowed = Set.of(names);
        Iterator<String> fields = node.fieldNames();
        while (fields.hasNext()) {
            String field = fields.next();
            if (!allowed.contains(field)) {
                throw refused(at + "." + field, "is not supported by Vessel");
            }
        }
    }

    private static VesselException refused(String path, String problem) {
        return VesselException.invalid(path, problem);
    }
}
