package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The package's bash completion and man pages, generated from the picocli commands. */
class CliDocsTest {
    @TempDir
    Path dir;

    @Test
    void everyCommandHasAPageAndTheCompletionKnowsTheSubcommands() throws Exception {
        CliDocs.main(new String[] {dir.toString()});
        String completion = Files.readString(dir.resolve("bash-completion/vessel"));
        assertTrue(completion.contains("complete -F _complete_vessel") || completion.contains("_complete_vessel vessel"),
                "no completion function for vessel");
        assertTrue(completion.contains("--rm"), "run's flags are not completed");
        for (String page : new String[] {"vessel.1", "vessel-run.1", "vessel-pull.1", "vesseld.1"}) {
            assertTrue(Files.isRegularFile(dir.resolve("man1").resolve(page)), page);
        }
        String run = Files.readString(dir.resolve("man1/vessel-run.1"));
        assertTrue(run.startsWith(".TH VESSEL-RUN 1"), run);
        assertTrue(run.contains("\n.SH SYNOPSIS\n") && run.contains("\n.SH OPTIONS\n"), run);
        assertTrue(run.contains("\n.B \\-\\-rm\n"), "options are written with troff's hyphens:\n" + run);
        assertFalse(run.contains("${DEFAULT-VALUE}"), run);
        // no line of text may start as a troff request
        assertFalse(run.lines().anyMatch(l -> l.startsWith(".") && !l.matches("\\.(TH|SH|TP|B|I|nf|fi)( .*)?")), run);
        String vessel = Files.readString(dir.resolve("man1/vessel.1"));
        assertTrue(vessel.contains("\n.SH COMMANDS\n") && vessel.contains("\\fBvessel\\-run\\fR(1)"), vessel);
        assertTrue(Files.readString(dir.resolve("man1/vesseld.1")).contains("\\-\\-guest\\-artifacts"));
    }
}
