package dev.vessel.launcher.vm;

import dev.vessel.core.agent.OutputChunk;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Appends a VM task's output, as the guest streams it, to the container's stdout.log and stderr.log:
 * the same files a process container's monitor writes, so the daemon's logs API reads both alike.
 */
final class OutputLogs implements AutoCloseable {
    private final FileChannel stdout;
    private final FileChannel stderr;

    OutputLogs(Path stdoutLog, Path stderrLog) throws IOException {
        this.stdout = open(stdoutLog);
        try {
            this.stderr = open(stderrLog);
        } catch (IOException e) {
            stdout.close();
            throw e;
        }
    }

    private static FileChannel open(Path file) throws IOException {
        return FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    }

    synchronized void append(OutputChunk chunk) throws IOException {
        FileChannel target = switch (chunk.getStream()) {
            case STDERR -> stderr;
            default -> stdout;
        };
        java.nio.ByteBuffer data = chunk.getData().asReadOnlyByteBuffer();
        while (target.isOpen() && data.hasRemaining()) {
            target.write(data);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            stdout.close();
        } finally {
            stderr.close();
        }
    }
}
