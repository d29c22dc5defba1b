package dev.vessel.launcher.process;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.Termination;
import dev.vessel.core.model.TerminationReason;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/** Reads the exit file the monitor writes (atomically, so a present file is complete). */
final class ExitFile {
    private ExitFile() {
    }

    /** The termination it records; empty while the task runs (or when its monitor died first). */
    static Optional<Termination> read(Path file) {
        String line;
        try {
            line = Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw VesselException.internal(file.toString(), "cannot read the exit file: " + e.getMessage(), e);
        }
        return Optional.of(parse(file, line));
    }

    static Termination parse(Path file, String line) {
        int space = line.indexOf(' ');
        String word = space < 0 ? line : line.substring(0, space);
        String rest = space < 0 ? "" : line.substring(space + 1);
        try {
            return switch (word) {
                case "exited" -> Termination.newBuilder().setReason(TerminationReason.EXITED)
                        .setExitCode(Integer.parseInt(rest)).build();
                case "signaled" -> Termination.newBuilder().setReason(TerminationReason.EXITED)
                        .setSignal(Integer.parseInt(rest)).build();
                case "failed" -> Termination.newBuilder().setReason(TerminationReason.LAUNCH_FAILED)
                        .setMessage("the task never ran: " + rest).build();
                default -> throw new NumberFormatException();
            };
        } catch (NumberFormatException e) {
            throw new VesselException(ErrorCode.DATA_LOSS, file.toString(), "unreadable exit file: '" + line + "'");
        }
    }
}
