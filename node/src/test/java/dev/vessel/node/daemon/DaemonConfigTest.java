package dev.vessel.node.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.error.VesselException;
import dev.vessel.core.userns.UserNamespaceMode;
import dev.vessel.isolators.namespaces.UserNamespaceRanges;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon's {@code --isolation} and its configuration file key; the API's bounds. */
class DaemonConfigTest {
    @TempDir
    Path dir;

    @Test
    void withoutIsolationTheHostRunsEveryIsolator() {
        assertEquals(Optional.empty(), DaemonConfig.Settings.NONE.resolve().isolation());
    }

    @Test
    void theFileNamesTheIsolatorsAndTheFlagWins() throws Exception {
        DaemonConfig.Settings file = DaemonConfig.Settings.readFile(Files.writeString(dir.resolve("vesseld.json"),
                "{\"isolation\": [\"cgroups\", \"cgroups/memory\", \"namespaces\"]}"));
        assertEquals(Optional.of(List.of("cgroups", "cgroups/memory", "namespaces")), file.resolve().isolation());

        assertEquals(Optional.of(List.of("namespaces")), isolation(List.of("namespaces")).over(file).resolve().isolation());
    }

    @Test
    void anUnknownIsolatorIsRefusedNamingItAndTheKnownOnes() {
        VesselException e = assertThrows(VesselException.class,
                () -> isolation(List.of("cgroups", "gpu/nvidia")).resolve());
        assertEquals("isolation", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("unknown isolator 'gpu/nvidia'"), e.getMessage());
        assertTrue(e.getMessage().contains("cgroups/memory") && e.getMessage().contains("vm/network"), e.getMessage());
    }

    @Test
    void theApiBoundsDefaultAndANonPositiveOneIsRefusedNamingIt() throws Exception {
        DaemonConfig defaults = DaemonConfig.Settings.NONE.resolve();
        assertEquals(java.time.Duration.ofSeconds(60), defaults.apiRequestTimeout());
        assertEquals(256, defaults.apiMaxConnections());
        VesselException e = assertThrows(VesselException.class, () -> DaemonConfig.Settings.readFile(Files.writeString(
                dir.resolve("vesseld.json"), "{\"api_max_connections\": 0}")).resolve());
        assertEquals("api_max_connections", e.field().orElseThrow());
        e = assertThrows(VesselException.class, () -> DaemonConfig.Settings.readFile(Files.writeString(
                dir.resolve("vesseld.json"), "{\"api_request_timeout_seconds\": -1}")).resolve());
        assertEquals("api_request_timeout_seconds", e.field().orElseThrow());
    }

    @Test
    void theUserNamespaceDefaultIsHostTheFileSetsAutoAndItsIdsAndAnUnknownModeIsRefused() throws Exception {
        DaemonConfig defaults = DaemonConfig.Settings.NONE.resolve();
        assertEquals(UserNamespaceMode.HOST, defaults.usernsDefault());
        assertEquals(UserNamespaceRanges.Source.defaults(), defaults.userNamespaces());

        DaemonConfig auto = DaemonConfig.Settings.readFile(Files.writeString(dir.resolve("vesseld.json"),
                "{\"userns_default\": \"auto\", \"userns_user\": \"containers\", \"subuid_file\": \"/srv/subuid\","
                        + " \"subgid_file\": \"/srv/subgid\"}")).resolve();
        assertEquals(UserNamespaceMode.AUTO, auto.usernsDefault());
        assertEquals(new UserNamespaceRanges.Source("containers", Path.of("/srv/subuid"), Path.of("/srv/subgid"),
                UserNamespaceRanges.DEFAULT_SIZE), auto.userNamespaces());

        VesselException e = assertThrows(VesselException.class, () -> DaemonConfig.Settings.readFile(Files.writeString(
                dir.resolve("vesseld.json"), "{\"userns_default\": \"keep-id\"}")).resolve());
        assertEquals("userns_default", e.field().orElseThrow());
        assertTrue(e.getMessage().contains("use host or auto"), e.getMessage());
    }

    private static DaemonConfig.Settings isolation(List<String> names) {
        return new DaemonConfig.Settings(null, null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, null, names, null, null, null, null, null, null);
    }
}
