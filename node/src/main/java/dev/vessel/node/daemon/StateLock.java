package dev.vessel.node.daemon;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.paths.RuntimePaths;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One daemon per state directory: an exclusive lock on {@link RuntimePaths#stateLock()}, which also holds
 * the holder's pid so that a second daemon can name it. The kernel drops the lock when the holder
 * dies, even by SIGKILL, so a crash never leaves a stale lock behind.
 */
final class StateLock implements AutoCloseable {
    private final FileChannel channel;

    private StateLock(FileChannel channel) {
        this.channel = channel;
    }

    static StateLock acquire(RuntimePaths paths) throws IOException {
        Path file = paths.stateLock();
        Files.createDirectories(file.getParent());
        FileChannel channel = FileChannel.open(file,
                StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        if (lock == null) {
            String holder = new String(Files.readAllBytes(file), StandardCharsets.UTF_8).trim();
            channel.close();
            throw new VesselException(ErrorCode.FAILED_PRECONDITION, paths.stateDir().toString(),
                    "another vesseld (pid " + (holder.isEmpty() ? "unknown" : holder) + ") is using this state directory");
        }
        channel.truncate(0);
        channel.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
        channel.force(true);
        return new StateLock(channel);
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
