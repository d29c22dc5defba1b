package dev.vessel.launcher.vm.domain;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** The last lines of a guest's serial console: what explains a boot that went wrong. */
public final class ConsoleTail {
    private static final int MAX_BYTES = 2048;

    private ConsoleTail() {
    }

    /** A sentence to append to an error message. */
    public static String of(Path consoleLog) {
        try (RandomAccessFile file = new RandomAccessFile(consoleLog.toFile(), "r")) {
            long start = Math.max(0, file.length() - MAX_BYTES);
            byte[] tail = new byte[(int) (file.length() - start)];
            file.seek(start);
            file.readFully(tail);
            String text = new String(tail, StandardCharsets.UTF_8).strip();
            return text.isEmpty() ? " (the console " + consoleLog + " is empty)"
                    : "; the console " + consoleLog + " ends with:\n" + text;
        } catch (IOException e) {
            return " (no console log at " + consoleLog + ")";
        }
    }
}
