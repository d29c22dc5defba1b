package dev.vessel.launcher.process;

import dev.vessel.core.paths.RuntimePaths;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads a container's stdout or stderr log from an offset, for clients that follow the output.
 * The monitor rotates a full log to {@code <name>.1} and starts it over; a client whose offset lies
 * beyond the current file's end has missed that rotation and continues from the new file's start.
 */
public final class LogReader {
    public enum Stream { STDOUT, STDERR }

    /** Bytes read and the offset to ask for next. */
    public record Chunk(byte[] data, long nextOffset) {
    }

    private final RuntimePaths paths;

    public LogReader(RuntimePaths paths) {
        this.paths = paths;
    }

    public Chunk read(Path containerDir, Stream stream, long offset, int maxBytes) throws IOException {
        return read(stream == Stream.STDOUT ? paths.stdoutLog(containerDir) : paths.stderrLog(containerDir), offset, maxBytes);
    }

    /** Any log file another process appends to (a VM's serial console): empty while it does not exist yet. */
    public static Chunk read(Path file, long offset, int maxBytes) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long from = offset > ch.size() ? 0 : offset;
            ByteBuffer buf = ByteBuffer.allocate((int) Math.min(maxBytes, ch.size() - from));
            while (buf.hasRemaining() && ch.read(buf, from + buf.position()) > 0) {
                // keep reading until the chunk is full or the file ends
            }
            byte[] data = new byte[buf.position()];
            buf.flip().get(data);
            return new Chunk(data, from + data.length);
        } catch (NoSuchFileException e) {
            return new Chunk(new byte[0], 0); // the task has not started yet
        }
    }
}
