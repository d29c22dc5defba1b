package dev.vessel.guest;

import dev.vessel.core.agent.Error;
import dev.vessel.core.agent.GuestFrame;
import dev.vessel.core.agent.Hello;
import dev.vessel.core.agent.HelloAck;
import dev.vessel.core.agent.HostFrame;
import dev.vessel.core.agent.ProtocolVersion;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.ProtocolException;

/**
 * One connection to the host: the hello, the wait for hello_ack (nothing is served before it), then
 * requests until the stream ends. Each request is answered on its own virtual thread, so a destroy
 * never waits behind a slow launch; the frame writer keeps the replies whole. Stdio stream frames are
 * handed to the connection's {@link GuestStreams} in order, on the reading thread, which they never hold up.
 */
final class AgentSession {
    private static final System.Logger LOG = System.getLogger(AgentSession.class.getName());

    /** How a connection ended: the host went away (a new connection may follow), or it refused us. */
    enum Outcome { ENDED, REFUSED }

    private final FrameReader in;
    private final FrameWriter writer;
    private final Hello.Builder hello;
    private final Requests requests;
    private final HostLink link;
    private final GuestStreams streams;

    AgentSession(Transport.Connection connection, Hello.Builder hello, Requests requests, HostLink link) {
        this.in = new FrameReader(connection.in());
        this.writer = new FrameWriter(connection.out());
        this.hello = hello;
        this.requests = requests;
        this.link = link;
        this.streams = new GuestStreams(writer);
    }

    Outcome run() {
        try {
            writer.send(GuestFrame.newBuilder().setHello(hello.clone().setReadyMillis(Uptime.millis())).build());
            HelloAck ack = awaitHelloAck();
            if (ack == null) {
                return Outcome.ENDED;
            }
            if (ack.getRefused()) {
                LOG.log(Level.ERROR, "the host refused protocol {0}: {1}", ProtocolVersion.V1, ack.getMessage());
                return Outcome.REFUSED;
            }
            link.up(writer);
            for (HostFrame frame; (frame = in.next()) != null; ) {
                HostFrame request = frame;
                switch (request.getBodyCase()) {
                    case HELLO_ACK -> {
                    } // a repeated hello_ack is no request: nothing to answer
                    case STDIO, CLOSE_STREAM, CREDIT -> streams.handle(request); // in order, never waits
                    default -> Thread.ofVirtual().start(() -> answer(request));
                }
            }
            return Outcome.ENDED;
        } catch (IOException e) {
            if (e instanceof ProtocolException) {
                LOG.log(Level.WARNING, "ending the connection to the host: {0}", e.getMessage());
            }
            return Outcome.ENDED; // the host went away (or sent garbage, or a frame over the cap): a new one starts over
        } finally {
            writer.close();
            streams.closeAll();
            link.down(writer);
        }
    }

    /** The host's hello_ack, answering anything before it with an error; null if the stream ended. */
    private HelloAck awaitHelloAck() throws IOException {
        for (HostFrame frame; (frame = in.next()) != null; ) {
            if (frame.hasHelloAck()) {
                return frame.getHelloAck();
            }
            writer.send(GuestFrame.newBuilder().setRequestId(frame.getRequestId()).setError(Error.newBuilder()
                    .setField("hello_ack").setMessage("nothing is served before the handshake: send hello_ack first"))
                    .build());
        }
        return null;
    }

    private void answer(HostFrame request) {
        GuestFrame reply = requests.handle(request, streams);
        try {
            writer.send(reply);
            if (reply.hasOk() && request.hasOpenStream()) {
                streams.start(request.getOpenStream().getStreamId()); // its frames only after its ok
            } else if (reply.hasOk() && request.hasExec() && request.getExec().getStreamId() != 0) {
                streams.start(request.getExec().getStreamId());
            } else if (reply.hasStarted() && request.getLaunch().getStreamId() != 0) {
                streams.start(request.getLaunch().getStreamId());
            }
        } catch (IOException e) {
            // the connection ended meanwhile: the host asks again on the next one (and its streams are closed)
        }
    }
}
