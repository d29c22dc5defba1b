package dev.vessel.core.paths;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Trees#createDirectories}: the JDK's behaviour, without the exceptions it throws and catches itself. */
class TreesTest {
    @TempDir
    Path tmp;

    @Test
    void createsEveryMissingDirectoryDownToTheLast() throws IOException {
        Path dir = tmp.resolve("a/b/c");
        assertEquals(dir, Trees.createDirectories(dir));
        assertTrue(Files.isDirectory(dir));
    }

    @Test
    void aDirectoryThatExistsIsFine() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("a"));
        assertEquals(dir, Trees.createDirectories(dir));
        assertTrue(Files.isDirectory(dir));
    }

    @Test
    void aFileInTheWayIsRefusedByName() throws IOException {
        Path file = Files.createFile(tmp.resolve("f"));
        assertEquals(file.toString(), assertThrows(FileAlreadyExistsException.class,
                () -> Trees.createDirectories(file)).getFile());
        assertEquals(file.toString(), assertThrows(FileAlreadyExistsException.class,
                () -> Trees.createDirectories(file.resolve("below"))).getFile());
    }

    @Test
    void throwsNoExceptionWhereNothingIsWrong() throws Exception {
        long jdks = exceptionsThrownBy(() -> Files.createDirectories(tmp.resolve("jdk/b/c")));
        assertTrue(jdks > 0, "the recording sees the JDK's own exceptions: " + jdks);
        assertEquals(0, exceptionsThrownBy(() -> {
            Trees.createDirectories(tmp.resolve("own/b/c")); // two parents missing
            Trees.createDirectories(tmp.resolve("own/b/c")); // there already
        }));
    }

    private interface Step {
        void run() throws IOException;
    }

    /** How many exceptions this thread threw (and maybe caught) during {@code step}, as JFR records them. */
    private long exceptionsThrownBy(Step step) throws Exception {
        Path file = Files.createTempFile(tmp, "exceptions", ".jfr");
        String thread = Thread.currentThread().getName();
        try (Recording recording = new Recording()) {
            recording.enable("jdk.JavaExceptionThrow");
            recording.start();
            step.run();
            recording.stop();
            recording.dump(file);
        }
        return RecordingFile.readAllEvents(file).stream()
                .filter(e -> e.getThread() != null && thread.equals(e.getThread().getJavaName()))
                .count();
    }
}
