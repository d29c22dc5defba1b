package dev.vessel.launcher.process;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.launcher.process.UserResolver.ResolvedUser;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class UserResolverTest {
    @TempDir
    Path root;

    private void etc() throws Exception {
        Files.createDirectories(root.resolve("etc"));
        Files.writeString(root.resolve("etc/passwd"),
                "root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n");
        Files.writeString(root.resolve("etc/group"), "root:x:0:\napp:x:1000:\nwheel:x:10:app,other\naudio:x:29:\n");
    }

    @Test
    void aNamedUserGetsItsPrimaryGroupItsMembershipsAndTheGroupsAskedForByNumberAndName() throws Exception {
        etc();
        ResolvedUser app = UserResolver.resolve("app", List.of(5), List.of("audio"), List.of(root));
        assertEquals(1000, app.uid());
        assertEquals(1000, app.gid());
        assertEquals(List.of(1000, 10, 5, 29), app.supplementaryGids());

        ResolvedUser withGroup = UserResolver.resolve("app:audio", List.of(), List.of("wheel"), List.of(root));
        assertEquals(29, withGroup.gid());
        assertEquals(List.of(29, 10), withGroup.supplementaryGids());

        ResolvedUser none = UserResolver.resolve("", List.of(), List.of("audio"), List.of(root));
        assertEquals(List.of(0, 29), none.supplementaryGids());
    }

    @Test
    void aGroupNameTheContainerDoesNotHaveIsRefusedNamingItsField() throws Exception {
        etc();
        VesselException e = assertThrows(VesselException.class,
                () -> UserResolver.resolve("app", List.of(), List.of("audio", "video"), List.of(root)));
        assertTrue(e.getMessage().contains("additional_groups[1]") && e.getMessage().contains("'video'"),
                e.getMessage());
        e = assertThrows(VesselException.class, () -> UserResolver.resolve("app:video", List.of(), List.of(),
                List.of(root)));
        assertTrue(e.getMessage().contains("user") && e.getMessage().contains("'video'"), e.getMessage());
    }
}
