package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** podman's notation of detach keys. */
class DetachKeysTest {
    @Test
    void readsCharactersAndControlKeys() {
        assertArrayEquals(new byte[] {0x10, 0x11}, DetachKeys.parse(DetachKeys.DEFAULT));
        assertArrayEquals(new byte[] {0x18, 'a'}, DetachKeys.parse("ctrl-x,a"));
        assertArrayEquals(new byte[] {0x10, 0x11}, DetachKeys.parse("CTRL-P,Ctrl-q"), "any case, as podman's");
        assertArrayEquals(new byte[] {0, 27, 28, 29, 30, 31}, DetachKeys.parse("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_"));
        assertArrayEquals(new byte[0], DetachKeys.parse(""), "empty: detaching turned off");
    }

    @Test
    void refusesWhatIsNotAKey() {
        for (String bad : new String[] {"ctrl-1", "ctrl-", "ab", "ctrl-p,,ctrl-q", ",", "\u00e9"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DetachKeys.parse(bad), bad);
            assertTrue(e.getMessage().contains("'"), e::getMessage);
        }
    }
}
