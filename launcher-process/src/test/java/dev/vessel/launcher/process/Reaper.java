package dev.vessel.launcher.process;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * This machine's PID 1 reaps no orphans. The crash test makes the test JVM a child subreaper, so
 * the helpers its killed daemon leaves behind become its children, and reaps them when they end.
 */
@SuppressWarnings("restricted")
final class Reaper {
    private static final int PR_SET_CHILD_SUBREAPER = 36;
    private static final Linker LINKER = Linker.nativeLinker();
    private static final MethodHandle PRCTL = LINKER.downcallHandle(LINKER.defaultLookup().find("prctl").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG), Linker.Option.firstVariadicArg(1));
    private static final MethodHandle WAITPID = LINKER.downcallHandle(LINKER.defaultLookup().find("waitpid").orElseThrow(),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));

    private Reaper() {
    }

    static void becomeSubreaper() throws Throwable {
        if ((int) PRCTL.invokeExact(PR_SET_CHILD_SUBREAPER, 1L) != 0) {
            throw new IllegalStateException("prctl(PR_SET_CHILD_SUBREAPER) failed");
        }
    }

    /** Waits for an adopted child to end and reaps it. */
    static void reap(long pid) throws Throwable {
        int rc = (int) WAITPID.invokeExact((int) pid, MemorySegment.NULL, 0);
        if (rc != pid) {
            throw new IllegalStateException("waitpid " + pid + " returned " + rc);
        }
    }
}
