package dev.vessel.node.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintStream;

/**
 * The CLI's JSON mapper, in a class of its own so that only a client that reads or writes JSON pays for
 * loading Jackson (vessel-runtime's calls mostly do not).
 */
final class CliJson {
    static final ObjectMapper JSON = new ObjectMapper();

    private CliJson() {
    }

    /** An inspect's document: pretty for people, or one compact line ({@code --json}) for scripts. */
    static void print(PrintStream out, JsonNode document, boolean compact) throws JsonProcessingException {
        out.println(compact ? document.toString() : JSON.writerWithDefaultPrettyPrinter().writeValueAsString(document));
    }
}
