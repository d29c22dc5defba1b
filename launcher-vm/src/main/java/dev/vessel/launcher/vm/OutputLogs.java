package dev.vessel.launcher.vm;

import dev.vessel.core.agent.OutputChunk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Appends a VM task's output, as the guest streams it, to the container's stdout.log and stderr.log:
 * the same files, rotated the same way, as a process container's monitor writes (a full log becomes
 * {@code <name>.1} and starts over, so at most twice the cap stays on disk per stream), and the
 * daemon's logs API reads both alike.
 */
final class OutputLogs implements AutoCloseable {
    /** The process launcher's default cap, per file. */
    static final long DEFAULT_CAP_BYTES = 16L << 20;

    private final long capBytes;
    private final Log stdout;
    private final Log stderr;

    OutputLogs(Path stdoutLog, Path stderrLog) throws IOException {
        this(stdoutLog, stderrLog, DEFAULT_CAP_BYTES);
    }

    OutputLogs(Path stdoutLog, Path stderrLog, long capBytes) throws IOException {
        this.capBytes = capBytes;
        this.stdout = new Log(stdoutLog);
        try {
            this.stderr = new Log(stderrLog);
        } catch (IOException e) {
            stdout.channel.close();
            throw e;
        }
    }

    synchronized void append(OutputChunk chunk) throws IOException {
        Log target = switch (chunk.getStream()) {
            case STDERR -> stderr;
            default -> stdout;
        };
        ByteBuffer data = chunk.getData().asReadOnlyByteBuffer();
        while (target.channel.isOpen() && data.hasRemaining()) {
            if (target.size >= capBytes) {
                target.rotate();
            }
            // split exactly at the cap, as the monitor does, so no file ever exceeds it
            ByteBuffer part = data.slice(data.position(), (int) Math.min(data.remaining(), capBytes - target.size));
            while (part.hasRemaining()) {
                target.size += target.channel.write(part);
            }
            data.position(data.position() + part.limit());
        }
    }

    @Override
    public synchronized void close() throws IOException {
        try {
            stdout.channel.close();
        } finally {
            stderr.channel.close();
        }
    }

    /** One stream's file, continued if it exists (a restarted daemon appends to it). */
    private static final class Log {
        private final Path file;
        private FileChannel channel;
        private long size;

        Log(Path file) throws IOException {
            this.file = file;
            open();
        }

        private void open() throws IOException {
            channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
            size = channel.size();
        }

        void rotate() throws IOException {
            channel.close();
            Files.move(file, file.resolveSibling(file.getFileName() + ".1"), StandardCopyOption.REPLACE_EXISTING);
            open();
        }
    }
}
