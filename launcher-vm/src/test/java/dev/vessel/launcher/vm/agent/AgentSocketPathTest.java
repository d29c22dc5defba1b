package dev.vessel.launcher.vm.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.paths.RuntimePaths;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The agent socket must fit a unix socket address (108 bytes with its NUL) however deep the container. */
class AgentSocketPathTest {
    private final RuntimePaths paths = RuntimePaths.defaults();

    @Test
    void aShallowContainerKeepsItsSocketInItsDirectory() {
        Path dir = paths.containerDir(List.of("web-1"));
        assertEquals(dir.resolve("agent.sock"), paths.agentSocket(dir));
        assertEquals(dir.resolve("console.log"), paths.consoleLog(dir));
    }

    @Test
    void aDeepContainerGetsAShortStableDistinctPathUnderTheRunDir() {
        String longId = "a".repeat(128);
        Path deep = paths.containerDir(List.of(longId, "child"));
        Path other = paths.containerDir(List.of(longId, "child2"));
        Path socket = paths.agentSocket(deep);

        assertTrue(socket.toString().getBytes(StandardCharsets.UTF_8).length <= 107, socket.toString());
        assertTrue(socket.startsWith(paths.runDir()), socket.toString());
        assertEquals(socket, paths.agentSocket(deep), "the same container always gets the same socket");
        assertNotEquals(socket, paths.agentSocket(other));
    }
}
