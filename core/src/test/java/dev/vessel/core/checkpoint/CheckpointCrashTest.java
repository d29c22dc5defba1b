package dev.vessel.core.checkpoint;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a JVM with SIGKILL again and again while it rewrites a checkpoint, and checks that every read
 * afterwards yields a complete record (the last one written or the one before), never a torn one.
 */
class CheckpointCrashTest {
    /** A record whose payload can only be right if the whole record was written together. */
    record Record(long counter, byte[] payload) {
        static final int PAYLOAD = 256 * 1024;

        static Record of(long counter) {
            byte[] payload = new byte[PAYLOAD];
            new Random(counter).nextBytes(payload);
            return new Record(counter, payload);
        }
    }

    static final CheckpointCodec<Record> CODEC = new CheckpointCodec<>() {
        @Override
        public int version() {
            return 1;
        }

        @Override
        public byte[] encode(Record r) {
            return ByteBuffer.allocate(8 + r.payload().length).putLong(r.counter()).put(r.payload()).array();
        }

        @Override
        public Record decode(int version, byte[] bytes) {
            ByteBuffer buf = ByteBuffer.wrap(bytes);
            long counter = buf.getLong();
            byte[] payload = new byte[buf.remaining()];
            buf.get(payload);
            return new Record(counter, payload);
        }
    };

    @TempDir
    Path dir;

    @Test
    void everyReadAfterAKillYieldsACompleteRecord() throws Exception {
        Path file = dir.resolve("torture.ckpt");
        Random random = new Random(7);
        long previous = 0;
        int kills = 20;
        for (int round = 0; round < kills; round++) {
            Process child = new ProcessBuilder(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"),
                    CheckpointWriterMain.class.getName(), file.toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
            BufferedReader progress = new BufferedReader(new InputStreamReader(child.getInputStream()));
            // Wait until the child is writing, then let it run a little and kill it mid-stream.
            assertTrue(progress.readLine() != null, "the writer printed no progress");
            Thread.sleep(random.nextInt(1, 40));
            child.destroyForcibly(); // SIGKILL
            assertTrue(child.waitFor(10, TimeUnit.SECONDS));
            assertEquals(137, child.exitValue(), "the writer must die of SIGKILL, not exit");

            Record read = CheckpointFile.read(file, CODEC).orElseThrow();
            assertArrayEquals(Record.of(read.counter()).payload(), read.payload(),
                    "record " + read.counter() + " is torn");
            assertTrue(read.counter() > previous, "round " + round + ": the counter went from " + previous
                    + " to " + read.counter() + ": a write was lost or not made durable");
            previous = read.counter();
        }
        assertTrue(previous >= kills * 5L, "too few writes happened to exercise the kill: " + previous);
    }
}
