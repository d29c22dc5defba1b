package dev.vessel.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UnixListenerTest {
    private static final int EADDRINUSE = 98;

    @TempDir
    Path dir;

    @Test
    void aListenerTakesConnectionsAtItsPathUntilClosed() throws Exception {
        Path socket = dir.resolve("a.sock");
        int fd = UnixListener.listen(socket, 1);
        try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(socket))) {
            assertTrue(client.isConnected());
            // The connection waits in the listener's queue, accepted by nobody: a write still goes through.
            assertEquals(1, client.write(ByteBuffer.wrap(new byte[] {1})));
        } finally {
            LibC.close(fd);
        }
        assertTrue(Files.exists(socket), "the path stays for its owner to remove");
        assertThrows(java.io.IOException.class, () -> SocketChannel.open(UnixDomainSocketAddress.of(socket)),
                "nobody listens once the descriptor is closed");
    }

    @Test
    void aPathTakenOrTooLongIsRefused() throws Exception {
        Path socket = dir.resolve("b.sock");
        int fd = UnixListener.listen(socket, 1);
        try {
            ErrnoException taken = assertThrows(ErrnoException.class, () -> UnixListener.listen(socket, 1));
            assertEquals(EADDRINUSE, taken.errno());
            assertTrue(taken.getMessage().contains(socket.toString()), taken.getMessage());
        } finally {
            LibC.close(fd);
        }
        Path tooLong = dir.resolve("x".repeat(120));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> UnixListener.listen(tooLong, 1));
        assertTrue(e.getMessage().contains("at most 107 bytes"), e.getMessage());
    }
}
