package dev.vessel.launcher.vm.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vessel.core.agent.ExecExited;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.OutputChunk;
import dev.vessel.core.agent.TaskExited;
import dev.vessel.core.model.Limitation;
import dev.vessel.core.model.Termination;
import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A VM pod's guest's events reach the task they name: the pod's own, each member's, none of another's. */
class PodListenerTest {
    private final List<GuestFrame> pod = new ArrayList<>();
    private final PodListener listener = new PodListener("pod", pod::add);

    @Test
    void eachTasksEventsGoToItsListenerAndTheRestToThePod() {
        List<GuestFrame> a = new ArrayList<>();
        listener.register("a", a::add);
        listener.event(output("a", "for a"));
        listener.event(execExited("a", "e1", 5));
        listener.event(exited("a", 3));
        listener.event(output("pod", "the pause's"));
        listener.event(execExited("pod", "e2", 0));
        listener.event(GuestFrame.newBuilder().setLimitation(Limitation.getDefaultInstance()).build());
        listener.event(output("stranger", "nobody's"));
        assertEquals(List.of(output("a", "for a"), execExited("a", "e1", 5), exited("a", 3)), a);
        assertEquals(3, pod.size(), pod::toString);
        assertEquals("the pause's", pod.get(0).getOutput().getData().toStringUtf8());

        listener.unregister("a");
        listener.event(output("a", "late"));
        assertEquals(3, a.size(), "an unregistered member hears nothing more");
    }

    /** A member found again after a restart registers after its guest re-sent its exit: it still gets it. */
    @Test
    void anExitBeforeItsMemberRegistersIsKeptForIt() {
        listener.event(exited("b", 7));
        listener.event(output("b", "dropped: only exits are kept"));
        List<GuestFrame> b = new ArrayList<>();
        listener.register("b", b::add);
        assertEquals(List.of(exited("b", 7)), b);
        assertEquals(List.of(), pod);
    }

    @Test
    void keptExitsAreBounded() {
        for (int i = 0; i < 1000; i++) {
            listener.event(exited("m" + i, 1));
        }
        List<GuestFrame> first = new ArrayList<>();
        listener.register("m0", first::add);
        assertEquals(List.of(), first, "the oldest kept exit was dropped");
        List<GuestFrame> last = new ArrayList<>();
        listener.register("m999", last::add);
        assertEquals(List.of(exited("m999", 1)), last);
    }

    private static GuestFrame output(String id, String text) {
        return GuestFrame.newBuilder().setOutput(OutputChunk.newBuilder().setContainerId(id)
                .setData(ByteString.copyFromUtf8(text))).build();
    }

    private static GuestFrame execExited(String id, String execId, int status) {
        return GuestFrame.newBuilder().setExecExited(ExecExited.newBuilder().setContainerId(id).setExecId(execId)
                .setStatus(status)).build();
    }

    private static GuestFrame exited(String id, int code) {
        return GuestFrame.newBuilder().setExited(TaskExited.newBuilder().setContainerId(id)
                .setTermination(Termination.newBuilder().setExitCode(code))).build();
    }
}
