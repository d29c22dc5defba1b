package dev.vessel.launcher.vm.agent;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.vessel.core.agent.TaskExited;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import org.junit.jupiter.api.Test;

/** Which task ends a guest may report. */
class GuestExitCheckTest {
    @Test
    void endsARealTaskCanHaveAreTaken() {
        for (Termination.Builder t : new Termination.Builder[] {
                Termination.newBuilder().setExitCode(0), Termination.newBuilder().setExitCode(255),
                Termination.newBuilder().setReason(TerminationReason.EXITED).setSignal(1),
                Termination.newBuilder().setReason(TerminationReason.KILLED).setSignal(64),
                Termination.newBuilder().setReason(TerminationReason.LAUNCH_FAILED).setMessage("no such file"),
                Termination.newBuilder().setReason(TerminationReason.LOST).setMessage("lost track"),
                Termination.newBuilder().setReason(TerminationReason.LIMITATION).setSignal(9)}) {
            assertDoesNotThrow(() -> GuestExitCheck.check(exited(t)), t.toString());
        }
    }

    @Test
    void impossibleEndsAreRefusedNamingTheField() {
        assertRefused("exited.termination.exit_code", Termination.newBuilder().setExitCode(-1));
        assertRefused("exited.termination.exit_code", Termination.newBuilder().setExitCode(256));
        assertRefused("exited.termination.signal", Termination.newBuilder().setSignal(0));
        assertRefused("exited.termination.signal", Termination.newBuilder().setSignal(65));
        assertRefused("exited.termination.signal", Termination.newBuilder().setSignal(-9));
        assertRefused("exited.termination", Termination.newBuilder().setReason(TerminationReason.EXITED));
        assertRefused("exited.termination", Termination.newBuilder());
        assertRefused("exited.termination.reason", Termination.newBuilder().setReasonValue(99).setExitCode(0));
    }

    private static void assertRefused(String field, Termination.Builder t) {
        VesselException e = assertThrows(VesselException.class, () -> GuestExitCheck.check(exited(t)), t.toString());
        assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
        assertEquals(field, e.field().orElseThrow(), e.getMessage());
    }

    private static TaskExited exited(Termination.Builder t) {
        return TaskExited.newBuilder().setContainerId("c").setTermination(t).build();
    }
}
