package dev.vessel.launcher.vm.agent;

import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.error.VesselException;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The listener of a VM pod's guest, which runs the pod's own task and one task per member: passes each
 * event to the listener of the task it names. The channel's fate (silence, a broken protocol, a close) is
 * the pod's. An exit of a task nobody listens to yet is kept (a member found again after a restart
 * registers after its pod's guest re-sent it), a bounded number of them; other events naming no task
 * the pod has are dropped, the first logged.
 */
public final class PodListener implements AgentClient.Listener {
    private static final System.Logger LOG = System.getLogger(PodListener.class.getName());
    private static final int MAX_KEPT_EXITS = 256;

    private final String podId;
    private final AgentClient.Listener pod;
    /** Guarded by this, as is {@link #keptExits}. */
    private final Map<String, AgentClient.Listener> members = new HashMap<>();
    private final LinkedHashMap<String, GuestFrame> keptExits = new LinkedHashMap<>();
    private volatile boolean loggedOther;

    public PodListener(String podId, AgentClient.Listener pod) {
        this.podId = podId;
        this.pod = pod;
    }

    /** From now on {@code member} hears the events of task {@code containerId}, an exit kept for it first. */
    public void register(String containerId, AgentClient.Listener member) {
        GuestFrame kept;
        synchronized (this) {
            members.put(containerId, member);
            kept = keptExits.remove(containerId);
        }
        if (kept != null) {
            member.event(kept);
        }
    }

    public synchronized void unregister(String containerId) {
        members.remove(containerId);
    }

    @Override
    public void event(GuestFrame frame) {
        String about = switch (frame.getBodyCase()) {
            case OUTPUT -> frame.getOutput().getContainerId();
            case EXITED -> frame.getExited().getContainerId();
            case EXEC_EXITED -> frame.getExecExited().getContainerId();
            default -> podId; // a limitation names no task: the guest's, so the pod's
        };
        if (about.equals(podId)) {
            pod.event(frame);
            return;
        }
        AgentClient.Listener member;
        synchronized (this) {
            member = members.get(about);
            if (member == null && frame.hasExited()) {
                keptExits.put(about, frame);
                if (keptExits.size() > MAX_KEPT_EXITS) {
                    keptExits.remove(keptExits.firstEntry().getKey());
                }
                return;
            }
        }
        if (member != null) {
            member.event(frame);
        } else if (!loggedOther) {
            loggedOther = true;
            LOG.log(Level.WARNING, "the guest of pod ''{0}'' sent {1} for task ''{2}'', which is none of its "
                    + "members: ignored (and any more such events)", podId, frame.getBodyCase(), about);
        }
    }

    @Override
    public void disconnected(Throwable cause) {
        pod.disconnected(cause);
    }

    @Override
    public void silent(Duration silence) {
        pod.silent(silence);
    }

    @Override
    public void brokeProtocol(VesselException why) {
        pod.brokeProtocol(why);
    }
}
