package dev.vessel.launcher.process;

import com.google.protobuf.ByteString;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.ExecConfig;
import dev.vessel.core.model.LaunchInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * An exec's plan: a process that enters every namespace of the container's running task (JOIN_NS) and
 * takes its cgroups, capabilities, seccomp filter, no_new_privs and rlimits, and, unless the exec says
 * otherwise, its user, working directory and environment. It has no ROOTFS and no file system setup of
 * its own: entering the task's mount namespace is entering its root. What the task's plan decided from
 * its launch info is kept with the task ({@link ExecBase}), so an exec after a restart gets the same.
 */
final class ExecPlans {
    /** The namespaces a task may have of its own: their names under /proc/<pid>/ns, the user one first. */
    private static final Map<String, Integer> NAMESPACES = new LinkedHashMap<>();

    static {
        NAMESPACES.put("user", HelperPlan.NS_USER);
        NAMESPACES.put("mnt", HelperPlan.NS_MOUNT);
        NAMESPACES.put("uts", HelperPlan.NS_UTS);
        NAMESPACES.put("ipc", HelperPlan.NS_IPC);
        NAMESPACES.put("net", HelperPlan.NS_NET);
        NAMESPACES.put("pid", HelperPlan.NS_PID);
        NAMESPACES.put("cgroup", HelperPlan.NS_CGROUP);
    }

    private ExecPlans() {
    }

    /** What an exec reuses of the task's plan; its capabilities as the launch info gives them to root. */
    static ExecBase base(HelperPlan task, LaunchInfo info) {
        HelperPlan.Caps root = PlanBuilder.caps(info, 0);
        ExecBase.Builder b = ExecBase.newBuilder()
                .addAllEnv(task.env())
                .setCwd(task.cwd())
                .setUid(task.uid().orElse(0))
                .setGid(task.gid().orElse(0))
                .addAllSupplementaryGids(task.supplementaryGids())
                .setRootCaps(Caps.newBuilder().setBounding(root.bounding()).setEffective(root.effective())
                        .setPermitted(root.permitted()).setInheritable(root.inheritable()).setAmbient(root.ambient()))
                .addAllCgroups(task.cgroups())
                .setNoNewPrivs(task.noNewPrivs());
        task.rlimits().forEach(r -> b.addRlimits(Rlimit.newBuilder().setResource(r.resource()).setSoft(r.soft())
                .setHard(r.hard())));
        task.seccompFilter().ifPresent(f -> b.setHasSeccomp(true).setSeccompFlags(f.flags())
                .setSeccompProgram(ByteString.copyFrom(f.program())));
        return b.build();
    }

    /**
     * The plan of {@code exec} into the container whose task is {@code taskPid} (alive: its namespace
     * files are read here, and the helper opens them before it answers).
     */
    static HelperPlan build(ExecBase base, ContainerConfig container, ExecConfig exec, long taskPid,
            HelperPlan.MonitorFiles files, String attachSocket, long logCap) {
        if (exec.getCommandCount() == 0 || exec.getCommand(0).isEmpty()) {
            throw VesselException.invalid("command", "must not be empty: give the executable to run");
        }
        if (!exec.getWorkingDir().isEmpty() && !exec.getWorkingDir().startsWith("/")) {
            throw VesselException.invalid("working_dir", "'" + exec.getWorkingDir() + "' must be an absolute path");
        }
        Path taskProc = Path.of("/proc", Long.toString(taskPid));
        int uid = base.getUid();
        int gid = base.getGid();
        List<Integer> groups = base.getSupplementaryGidsList();
        if (!exec.getUser().isEmpty()) {
            // the container's own /etc/passwd and /etc/group: those of the task's root
            UserResolver.ResolvedUser user = UserResolver.resolve(exec.getUser(), container.getAdditionalGidsList(),
                    container.getAdditionalGroupsList(), List.of(taskProc.resolve("root")));
            uid = user.uid();
            gid = user.gid();
            groups = user.supplementaryGids();
        }
        Caps root = base.getRootCaps();
        HelperPlan.Caps caps = uid == 0
                ? new HelperPlan.Caps(root.getBounding(), root.getEffective(), root.getPermitted(),
                        root.getInheritable(), root.getAmbient())
                : new HelperPlan.Caps(root.getBounding(), 0, 0, 0, 0); // as PlanBuilder gives a non-root user
        return new HelperPlan(
                files,
                Optional.empty(),
                exec.getCommandList(),
                env(base.getEnvList(), exec.getEnvList()),
                exec.getWorkingDir().isEmpty() ? base.getCwd() : exec.getWorkingDir(),
                OptionalInt.of(uid),
                OptionalInt.of(gid),
                groups,
                Optional.empty(),
                0,
                List.of(),
                List.of(),
                Optional.empty(),
                List.of(),
                0,
                List.of(),
                List.of(),
                base.getRlimitsList().stream()
                        .map(r -> new HelperPlan.Rlimit(r.getResource(), r.getSoft(), r.getHard())).toList(),
                base.getNoNewPrivs(),
                Optional.of(caps),
                logCap,
                base.getCgroupsList(),
                false,
                List.of(),
                Optional.empty(),
                base.getHasSeccomp()
                        ? Optional.of(new HelperPlan.SeccompFilter(base.getSeccompFlags(),
                                base.getSeccompProgram().toByteArray()))
                        : Optional.empty(),
                false,
                joins(taskProc),
                false,
                PlanBuilder.oomScoreAdj(container),
                List.of(), // set in the task's namespaces at its launch
                new HelperPlan.Stdio(Optional.of(attachSocket), exec.getInteractive(), exec.getTty(),
                        Optional.of(HelperPlan.WindowSize.DEFAULT).filter(w -> exec.getTty())));
    }

    /** Every namespace the task has of its own: one that is not the daemon's own. */
    private static List<HelperPlan.JoinNamespace> joins(Path taskProc) {
        List<HelperPlan.JoinNamespace> joins = new ArrayList<>();
        for (Map.Entry<String, Integer> ns : NAMESPACES.entrySet()) {
            Path file = taskProc.resolve("ns").resolve(ns.getKey());
            try {
                // "ipc:[4026531839]": the namespace's identity, no matter who looks
                if (!Files.readSymbolicLink(file).equals(Files.readSymbolicLink(Path.of("/proc/self/ns", ns.getKey())))) {
                    joins.add(new HelperPlan.JoinNamespace(ns.getValue(), file.toString()));
                }
            } catch (IOException e) {
                throw new VesselException(ErrorCode.FAILED_PRECONDITION, "exec", "the container's task "
                        + taskProc.getFileName() + " is not running: " + e.getMessage());
            }
        }
        return joins;
    }

    /** The task's environment, then the exec's (a later name wins). */
    private static List<String> env(List<String> task, List<EnvVar> exec) {
        Map<String, String> env = new LinkedHashMap<>();
        for (String kv : task) {
            int eq = kv.indexOf('=');
            env.put(kv.substring(0, eq), kv.substring(eq + 1));
        }
        for (int i = 0; i < exec.size(); i++) {
            EnvVar v = exec.get(i);
            if (v.getName().isEmpty() || v.getName().contains("=")) {
                throw VesselException.invalid("env[" + i + "].name", "'" + v.getName()
                        + "' is not a variable name (empty, or holds '=')");
            }
            env.put(v.getName(), v.getValue());
        }
        return env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
    }
}
