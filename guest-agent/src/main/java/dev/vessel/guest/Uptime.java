package dev.vessel.guest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The guest's uptime, which the host compares with its own clock to see where boot time went. */
final class Uptime {
    private static final Path PROC_UPTIME = Path.of("/proc/uptime");

    private Uptime() {
    }

    /** Milliseconds since the guest booted, from /proc/uptime; 0 where there is no /proc (an image build). */
    static long millis() {
        try {
            String text = Files.readString(PROC_UPTIME);
            String seconds = text.substring(0, text.indexOf(' '));
            int dot = seconds.indexOf('.');
            long whole = Long.parseLong(dot < 0 ? seconds : seconds.substring(0, dot));
            long hundredths = dot < 0 ? 0 : Long.parseLong(seconds.substring(dot + 1));
            return whole * 1000 + hundredths * 10;
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }
}
