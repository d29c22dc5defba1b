package dev.vessel.launcher.process;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/** Reads the helper's reply lines and turns its {@code error <step>: <msg>} into user-facing errors. */
final class HelperReplies {
    private HelperReplies() {
    }

    /** One line without its newline; null at EOF before any byte. Unbuffered: nothing is read ahead. */
    static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        int b;
        while ((b = in.read()) != -1 && b != '\n') {
            line.write(b);
        }
        return b == -1 && line.size() == 0 ? null : line.toString(StandardCharsets.UTF_8);
    }

    /**
     * The exception for a reply that is not the expected one: an {@code error} line names the step
     * that failed; a step caused by the request (the executable, the rootfs, the working directory)
     * is INVALID_ARGUMENT on that field, anything else INTERNAL.
     */
    static VesselException failure(String reply, int status, HelperPlan plan, Path monitorLog) {
        if (reply == null || !reply.startsWith("error ")) {
            return new VesselException(ErrorCode.INTERNAL, "launcher", "vessel-launch "
                    + (reply == null ? "exited with status " + status : "answered '" + reply + "'")
                    + " without starting the task; see " + monitorLog);
        }
        String message = reply.substring("error ".length());
        String step = message.contains(":") ? message.substring(0, message.indexOf(':')) : message;
        String field = null;
        if (step.startsWith("execve ")) {
            field = "command";
        } else if (step.startsWith("rootfs ") || step.startsWith("bind rootfs ") || step.startsWith("open rootfs ")) {
            field = "rootfs";
        } else if (step.equals("chdir " + plan.cwd())) {
            field = "working_dir";
        } else if (step.startsWith("setgid ") || step.startsWith("setuid ") || step.equals("setgroups")) {
            field = "user";
        } else if (step.startsWith("idmap mount ")) {
            field = "volumes"; // a bind source on a file system that cannot be idmapped
        } else if (step.startsWith("idmap rootfs")) {
            field = "userns";
        }
        return new VesselException(field == null ? ErrorCode.INTERNAL : ErrorCode.INVALID_ARGUMENT, field,
                "vessel-launch failed at " + message);
    }
}
