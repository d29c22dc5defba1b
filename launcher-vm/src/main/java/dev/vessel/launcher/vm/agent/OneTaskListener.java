package dev.vessel.launcher.vm.agent;

import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.error.VesselException;
import java.lang.System.Logger.Level;
import java.time.Duration;

/**
 * The listener of a guest that runs one task: passes on the events of that task and drops, logging
 * the first, those naming any other, so a guest cannot end or write into a task it does not run.
 */
public final class OneTaskListener implements AgentClient.Listener {
    private static final System.Logger LOG = System.getLogger(OneTaskListener.class.getName());

    private final String containerId;
    private final AgentClient.Listener task;
    private volatile boolean loggedOther;

    public OneTaskListener(String containerId, AgentClient.Listener task) {
        this.containerId = containerId;
        this.task = task;
    }

    @Override
    public void event(GuestFrame frame) {
        String about = switch (frame.getBodyCase()) {
            case OUTPUT -> frame.getOutput().getContainerId();
            case EXITED -> frame.getExited().getContainerId();
            case EXEC_EXITED -> frame.getExecExited().getContainerId();
            default -> containerId; // a limitation names no task: the guest's one
        };
        if (!about.equals(containerId)) {
            if (!loggedOther) {
                loggedOther = true;
                LOG.log(Level.WARNING, "the guest of ''{0}'' sent {1} for task ''{2}'', which it does not run: "
                        + "ignored (and any more such events)", containerId, frame.getBodyCase(), about);
            }
            return;
        }
        task.event(frame);
    }

    @Override
    public void disconnected(Throwable cause) {
        task.disconnected(cause);
    }

    @Override
    public void silent(Duration silence) {
        task.silent(silence);
    }

    @Override
    public void brokeProtocol(VesselException why) {
        task.brokeProtocol(why);
    }
}
