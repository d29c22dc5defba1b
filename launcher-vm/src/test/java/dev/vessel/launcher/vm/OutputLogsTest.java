package dev.vessel.launcher.vm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import dev.vessel.core.agent.OutputChunk;
import dev.vessel.core.agent.Stream;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputLogsTest {
    @TempDir
    Path dir;

    private static OutputChunk chunk(Stream stream, String data) {
        return OutputChunk.newBuilder().setStream(stream).setData(ByteString.copyFromUtf8(data)).build();
    }

    @Test
    void eachStreamGoesToItsFileAndAFullFileRotatesExactlyAtTheCap() throws Exception {
        Path out = dir.resolve("stdout.log");
        Path err = dir.resolve("stderr.log");
        try (OutputLogs logs = new OutputLogs(out, err, 10)) {
            logs.append(chunk(Stream.STDOUT, "0123456"));
            logs.append(chunk(Stream.STDERR, "oops\n"));
            logs.append(chunk(Stream.STDOUT, "789abcdefghijklmnopqrstu"));
        }
        // 31 bytes with a cap of 10: files of 10, 10, 10, 1; the last two full ones are kept
        assertEquals("klmnopqrst", Files.readString(dir.resolve("stdout.log.1")));
        assertEquals("u", Files.readString(out));
        assertEquals("oops\n", Files.readString(err));
    }

    @Test
    void aRestartedDaemonContinuesTheFilesItFinds() throws Exception {
        Path out = dir.resolve("stdout.log");
        Files.writeString(out, "01234567");
        try (OutputLogs logs = new OutputLogs(out, dir.resolve("stderr.log"), 10)) {
            logs.append(chunk(Stream.STDOUT, "89ab"));
        }
        assertEquals("0123456789", Files.readString(dir.resolve("stdout.log.1")));
        assertEquals("ab", Files.readString(out));
    }
}
