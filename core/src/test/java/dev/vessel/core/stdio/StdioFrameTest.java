package dev.vessel.core.stdio;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class StdioFrameTest {
    @Test
    void framesRoundTripInOrderAndTheStreamEndsCleanlyBetweenThem() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StdioFrame.stdin("ls\r".getBytes(StandardCharsets.UTF_8)).writeTo(out);
        StdioFrame.resize(40, 132).writeTo(out);
        StdioFrame.stdinClose().writeTo(out);
        StdioFrame.exit(130).writeTo(out);
        ByteArrayInputStream in = new ByteArrayInputStream(out.toByteArray());

        StdioFrame stdin = StdioFrame.readFrom(in);
        assertEquals(StdioFrame.Type.STDIN, stdin.type());
        assertArrayEquals("ls\r".getBytes(StandardCharsets.UTF_8), stdin.payload());
        StdioFrame resize = StdioFrame.readFrom(in);
        assertEquals(40, resize.rows());
        assertEquals(132, resize.columns());
        assertEquals(StdioFrame.stdinClose(), StdioFrame.readFrom(in));
        assertEquals(130, StdioFrame.readFrom(in).exitStatus());
        assertNull(StdioFrame.readFrom(in));
    }

    @Test
    void theWireFormatIsTypeThenBigEndianLengthThenPayload() {
        assertArrayEquals(new byte[] {0x11, 0, 0, 0, 2, 'h', 'i'},
                new StdioFrame(StdioFrame.Type.STDOUT, new byte[] {'h', 'i'}).encode());
    }

    @Test
    void aBrokenOrHostilePeerIsRefused() {
        IOException unknown = assertThrows(IOException.class,
                () -> StdioFrame.readFrom(new ByteArrayInputStream(new byte[] {0x7f, 0, 0, 0, 0})));
        assertTrue(unknown.getMessage().contains("unknown type 0x7f"), unknown.getMessage());
        IOException huge = assertThrows(IOException.class,
                () -> StdioFrame.readFrom(new ByteArrayInputStream(new byte[] {0x11, 0x7f, 0, 0, 0})));
        assertTrue(huge.getMessage().contains("over"), huge.getMessage());
        assertThrows(EOFException.class,
                () -> StdioFrame.readFrom(new ByteArrayInputStream(new byte[] {0x11, 0, 0, 0, 9, 'x'})));
    }
}
