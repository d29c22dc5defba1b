package dev.vessel.launcher.vm.agent;

import dev.vessel.core.agent.TaskExited;
import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;

/**
 * Whether a task's end as the guest reports it is one a real task can have, so that garbage from a
 * broken or hostile guest never becomes a container's termination: an exit code is what
 * {@code waitpid} can return (0 to 255), a signal is one Linux has (1 to 64), and only an end that
 * never had a process (a failed launch, a lost task, a limitation) may come without either.
 */
final class GuestExitCheck {
    static final int MAX_EXIT_CODE = 255;
    static final int MAX_SIGNAL = 64;

    private GuestExitCheck() {
    }

    /** Throws naming the field and what is wrong with it, unless {@code exited} is possible. */
    static void check(TaskExited exited) {
        Termination t = exited.getTermination();
        if (t.getReason() == TerminationReason.UNRECOGNIZED) {
            throw impossible("exited.termination.reason", "the guest agent reported an end of unknown reason "
                    + t.getReasonValue());
        }
        switch (t.getStatusCase()) {
            case EXIT_CODE -> {
                if (t.getExitCode() < 0 || t.getExitCode() > MAX_EXIT_CODE) {
                    throw impossible("exited.termination.exit_code", "the guest agent reported exit code "
                            + t.getExitCode() + ", which no process can exit with (0 to " + MAX_EXIT_CODE + ")");
                }
            }
            case SIGNAL -> {
                if (t.getSignal() < 1 || t.getSignal() > MAX_SIGNAL) {
                    throw impossible("exited.termination.signal", "the guest agent reported signal "
                            + t.getSignal() + ", which is no signal (1 to " + MAX_SIGNAL + ")");
                }
            }
            case STATUS_NOT_SET -> {
                boolean hadNoProcess = t.getReason() == TerminationReason.LAUNCH_FAILED
                        || t.getReason() == TerminationReason.LOST || t.getReason() == TerminationReason.LIMITATION;
                if (!hadNoProcess) {
                    throw impossible("exited.termination", "the guest agent reported a task that "
                            + (t.getReason() == TerminationReason.TERMINATION_REASON_UNSPECIFIED ? "ended"
                                    : t.getReason().name().toLowerCase(java.util.Locale.ROOT))
                            + " without an exit code or a signal");
                }
            }
        }
    }

    private static VesselException impossible(String field, String message) {
        return new VesselException(ErrorCode.INVALID_ARGUMENT, field, message);
    }
}
