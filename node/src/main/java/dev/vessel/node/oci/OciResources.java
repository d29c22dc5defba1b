package dev.vessel.node.oci;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vessel.core.cpu.CpuQuota;
import dev.vessel.core.cpu.CpuWeight;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Resources;
import java.util.Iterator;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * An OCI {@code linux.resources} object applied to a container's {@link Resources}: the one reading of a bundle's at
 * create ({@link BundleConfig}, over no resources) and of runc's {@code update --resources} (over the container's):
 * the fields it gives replace the container's, those it leaves out are kept. What Vessel's resources cannot express
 * is refused by its JSON path, and so is a member it does not know.
 *
 * <p>A CPU limit is kept as a share of CPUs, enforced as a quota of Vessel's 100 ms period: a quota counts against
 * its period; a period without a quota (what a kubelet sends for every container, its CFS period with no limit)
 * leaves no limit as it is, and stretches an existing one as runc's would (its quota kept over the new period).
 */
public final class OciResources {
    private final BiFunction<String, String, VesselException> refused;

    /** {@code refused} makes the error of a JSON path and its problem (a bundle's names its file). */
    private OciResources(BiFunction<String, String, VesselException> refused) {
        this.refused = refused;
    }

    /** runc's {@code update}: {@code resources} over the running container's {@code current}. */
    public static Resources update(Resources current, JsonNode resources) {
        if (!resources.isObject()) {
            throw VesselException.invalid("linux.resources", "must be a JSON object");
        }
        return new OciResources(VesselException::invalid).apply(current, resources, Set.of());
    }

    /**
     * A bundle's {@code linux.resources} at create, over no resources; {@code alsoKnown}: its members read by the
     * caller (the device rules).
     */
    static Resources atCreate(JsonNode resources, Set<String> alsoKnown,
            BiFunction<String, String, VesselException> refused) {
        return new OciResources(refused).apply(Resources.getDefaultInstance(), resources, alsoKnown);
    }

    private Resources apply(Resources current, JsonNode resources, Set<String> alsoKnown) {
        known(resources, "linux.resources", alsoKnown, "memory", "cpu", "pids", "hugepageLimits");
        Resources.Builder r = current.toBuilder();
        memory(resources.path("memory"), r);
        cpu(resources.path("cpu"), r);
        JsonNode pids = resources.path("pids");
        known(pids, "linux.resources.pids", Set.of(), "limit");
        if (pids.has("limit")) {
            long pidsLimit = number(pids, "limit", "linux.resources.pids.limit");
            r.setPids(pidsLimit > 0 ? pidsLimit : -1);
        }
        if (resources.has("hugepageLimits")) {
            r.clearHugepageLimits();
            hugepageLimits(resources.get("hugepageLimits"), r);
        }
        return r.build();
    }

    private void memory(JsonNode memory, Resources.Builder r) {
        known(memory, "linux.resources.memory", Set.of(), "limit", "swap", "reservation");
        long limit = number(memory, "limit", "linux.resources.memory.limit");
        if (limit > 0) {
            r.setMemoryBytes(limit);
        } else if (limit == -1) {
            r.setMemoryBytes(0); // unlimited
        } else if (limit < -1) {
            throw refused.apply("linux.resources.memory.limit", limit + " is not a size in bytes (-1: unlimited)");
        }
        long reservation = number(memory, "reservation", "linux.resources.memory.reservation");
        if (reservation > 0) {
            r.setMemoryReservationBytes(reservation); // the daemon checks it against the limit
        } else if (reservation == -1) {
            r.setMemoryReservationBytes(0); // none
        } else if (reservation < -1) {
            throw refused.apply("linux.resources.memory.reservation", reservation
                    + " is not a size in bytes (-1: none)");
        }
        // no swap limit in Vessel (a container's swap is the node's policy); only its sense is checked
        long swap = number(memory, "swap", "linux.resources.memory.swap");
        long memoryAfter = r.getMemoryBytes();
        if (swap < -1 || (swap > 0 && memoryAfter > 0 && swap < memoryAfter)) {
            throw refused.apply("linux.resources.memory.swap", swap + " must be -1 (unlimited) or at least the memory"
                    + " limit (" + memoryAfter + "): it counts memory and swap together");
        }
    }

    private void cpu(JsonNode cpu, Resources.Builder r) {
        known(cpu, "linux.resources.cpu", Set.of(), "quota", "period", "shares", "cpus", "mems");
        if (cpu.has("cpus")) {
            r.setCpusetCpus(text(cpu, "cpus", "linux.resources.cpu.cpus")); // "": all again; the daemon checks it
        }
        if (cpu.has("mems")) {
            r.setCpusetMems(text(cpu, "mems", "linux.resources.cpu.mems"));
        }
        long shares = number(cpu, "shares", "linux.resources.cpu.shares");
        if (shares != 0) { // containerd sends the kernel's default, 1024; podman's --cpu-shares any
            CpuWeight.problem(shares).ifPresent(p -> {
                throw refused.apply("linux.resources.cpu.shares", p);
            });
            r.setCpuShares(shares);
        }
        long quota = number(cpu, "quota", "linux.resources.cpu.quota");
        long period = number(cpu, "period", "linux.resources.cpu.period");
        if (period != 0) {
            CpuQuota.periodProblem(period).ifPresent(p -> {
                throw refused.apply("linux.resources.cpu.period", p);
            });
        }
        if (quota > 0) {
            r.setCpus(CpuQuota.cpus(quota, period));
        } else if (quota == -1) {
            r.setCpus(0); // unlimited
        } else if (quota < -1) {
            throw refused.apply("linux.resources.cpu.quota", quota + " is not a quota in µs (-1: unlimited)");
        } else if (period > 0 && r.getCpus() > 0) {
            r.setCpus(r.getCpus() * CpuQuota.PERIOD_US / period);
        }
    }

    /**
     * {@code hugepageLimits}, {@code [{"pageSize": "2MB", "limit": bytes}, …]}, as the resources'
     * {@code hugepage_limits}; whether the node has each size the daemon checks.
     */
    private void hugepageLimits(JsonNode limits, Resources.Builder r) {
        String at = "linux.resources.hugepageLimits";
        if (!limits.isArray()) {
            throw refused.apply(at, "must be a JSON array");
        }
        for (int i = 0; i < limits.size(); i++) {
            JsonNode limit = limits.get(i);
            String size = limit.path("pageSize").asText("");
            JsonNode bytes = limit.path("limit");
            if (size.isEmpty()) {
                throw refused.apply(at + "[" + i + "].pageSize", "must name a page size, such as 2MB");
            }
            if (!bytes.canConvertToLong() || !bytes.isIntegralNumber() || bytes.asLong() < 0) {
                throw refused.apply(at + "[" + i + "].limit", bytes + " is not a number of bytes");
            }
            r.putHugepageLimits(size, bytes.asLong());
        }
    }

    /** An integer member, 0 when absent or null. */
    private long number(JsonNode node, String field, String at) {
        JsonNode value = node.path(field);
        if (value.isMissingNode() || value.isNull()) {
            return 0;
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong()) {
            throw refused.apply(at, value + " is not an integer");
        }
        return value.asLong();
    }

    /** A string member, "" when null. */
    private String text(JsonNode node, String field, String at) {
        JsonNode value = node.path(field);
        if (value.isNull()) {
            return "";
        }
        if (!value.isTextual()) {
            throw refused.apply(at, value + " is not a string");
        }
        return value.asText();
    }

    private void known(JsonNode node, String at, Set<String> alsoKnown, String... names) {
        Set<String> allowed = Set.of(names);
        Iterator<String> fields = node.fieldNames();
        while (fields.hasNext()) {
            String field = fields.next();
            if (!allowed.contains(field) && !alsoKnown.contains(field)) {
                throw refused.apply(at + "." + field, "is not supported by Vessel");
            }
        }
    }
}
