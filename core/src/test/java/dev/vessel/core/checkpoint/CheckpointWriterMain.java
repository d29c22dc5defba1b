package dev.vessel.core.checkpoint;

import java.nio.file.Path;

/**
 * Run in a child JVM by {@link CheckpointCrashTest}: rewrites one checkpoint forever, each record a
 * counter and a large payload derived from it, until it is killed with SIGKILL.
 */
public final class CheckpointWriterMain {
    public static void main(String[] args) {
        Path file = Path.of(args[0]);
        long counter = CheckpointFile.read(file, CheckpointCrashTest.CODEC).map(r -> r.counter()).orElse(0L);
        while (true) {
            counter++;
            CheckpointFile.write(file, CheckpointCrashTest.CODEC, CheckpointCrashTest.Record.of(counter));
            if (counter % 5 == 0) {
                System.out.println(counter); // progress, so the parent knows writes are happening
                System.out.flush();
            }
        }
    }
}
