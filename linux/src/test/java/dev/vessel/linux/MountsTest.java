package dev.vessel.linux;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Root: a real bind mount. */
class MountsTest {
    @TempDir
    Path tmp;

    /** What lets a caller choose another way to mount while the FFM linker has not started (a cold guest's). */
    @Test
    void aMountLeavesItsDowncallLinked() throws Exception {
        Mounts.mount(tmp.toString(), tmp, null, Mounts.MS_BIND, null);
        try {
            assertTrue(Mounts.linked());
            assertTrue(Mounts.mountPoints().contains(tmp));
        } finally {
            Mounts.unmount(tmp, Mounts.MNT_DETACH);
        }
    }
}
