package dev.vessel.guest;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.OutputChunk;
import dev.vessel.core.agent.TaskExited;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** The warm-up's stand-in for the host: it tells a task's forwarded exit from the frames before it. */
class FrameSinkTest {
    private static final GuestFrame OUTPUT = GuestFrame.newBuilder().setOutput(OutputChunk.newBuilder()
            .setContainerId("warm-up").setData(ByteString.copyFromUtf8("warm\n"))).build();
    private static final GuestFrame EXITED = GuestFrame.newBuilder().setExited(TaskExited.newBuilder()
            .setContainerId("warm-up")).build();

    @Test
    void theWaitEndsOnceAnExitWasSentAfterOtherFrames() throws Exception {
        FrameSink sink = new FrameSink();
        FrameWriter writer = sink.link().current();
        writer.send(OUTPUT);
        writer.send(OUTPUT);
        assertThrows(IOException.class, () -> sink.awaitExit(20), "output alone is no exit");
        writer.send(EXITED);
        assertDoesNotThrow(() -> sink.awaitExit(0));
    }

    @Test
    void aWaitWithNoExitSentFailsNamingTheWarmUp() throws Exception {
        FrameSink sink = new FrameSink();
        sink.link().current().send(OUTPUT);
        IOException e = assertThrows(IOException.class, () -> sink.awaitExit(10));
        assertTrue(e.getMessage().contains("warm-up task's exit"), e.getMessage());
    }
}
