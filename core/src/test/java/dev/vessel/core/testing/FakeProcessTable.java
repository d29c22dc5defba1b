package dev.vessel.core.testing;

import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Stands in for the kernel's process table in containerizer tests: fake tasks outlive a
 * containerizer that is thrown away, as real tasks outlive a daemon killed with SIGKILL.
 */
public final class FakeProcessTable {
    /** One fake process: released once isolation is done, ends with an exit code or a signal. */
    public static final class FakeProcess {
        public final long pid;
        public volatile boolean released;
        public final CompletableFuture<Termination> exit = new CompletableFuture<>();

        FakeProcess(long pid) {
            this.pid = pid;
        }
    }

    private final AtomicLong nextPid = new AtomicLong(1000);
    private final Map<Long, FakeProcess> processes = new ConcurrentHashMap<>();

    public FakeProcess spawn() {
        FakeProcess p = new FakeProcess(nextPid.incrementAndGet());
        processes.put(p.pid, p);
        return p;
    }

    public FakeProcess get(long pid) {
        return processes.get(pid);
    }

    /** The process ends by itself with {@code code}. */
    public void exit(long pid, int code) {
        processes.get(pid).exit.complete(Termination.newBuilder()
                .setReason(TerminationReason.EXITED).setExitCode(code).build());
    }

    public void signal(long pid, int signal) {
        processes.get(pid).exit.complete(Termination.newBuilder()
                .setReason(TerminationReason.EXITED).setSignal(signal).build());
    }

    /** The process vanishes without a trace (no exit status anywhere), as after a reboot. */
    public void forget(long pid) {
        processes.remove(pid);
    }

    public boolean alive(long pid) {
        FakeProcess p = processes.get(pid);
        return p != null && !p.exit.isDone();
    }
}
