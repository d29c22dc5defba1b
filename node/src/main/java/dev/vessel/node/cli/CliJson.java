package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The CLI's JSON mapper, in a class of its own so that only a client that reads or writes JSON pays for
 * loading Jackson (vessel-runtime's calls mostly do not).
 */
final class CliJson {
    static final ObjectMapper JSON = new ObjectMapper();

    private CliJson() {
    }
}
