package dev.vessel.core.spi;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.EnvVar;
import dev.vessel.core.model.FetchUri;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Where a task finds its sandbox, and what of the config's (and so the image's) own wins. */
class TaskSandboxTest {
    static final Path HOST = Path.of("/run/vessel/containers/c/sandbox");

    static ContainerConfig.Builder fetching() {
        return ContainerConfig.newBuilder().setId("c").setHostRootfs("/srv/root")
                .addUris(FetchUri.newBuilder().setUri("http://127.0.0.1/a"));
    }

    static List<String> env(ContainerConfig c) {
        return c.getEnvList().stream().map(e -> e.getName() + "=" + e.getValue()).toList();
    }

    @Test
    void aTaskWithARootfsFindsItAtVesselSandbox() {
        ContainerConfig c = TaskSandbox.withDefaults(fetching().build(), HOST);
        assertEquals("/vessel/sandbox", c.getWorkingDir());
        assertEquals(List.of("VESSEL_SANDBOX=/vessel/sandbox", "MESOS_SANDBOX=/vessel/sandbox"), env(c));
        assertEquals("/vessel/sandbox/tool/run.sh", TaskSandbox.pathInTask(c, HOST, HOST.resolve("tool/run.sh")));
        assertEquals("/vessel/sandbox", TaskSandbox.pathInTask(c, HOST, HOST));
    }

    @Test
    void theConfigsWorkingDirectoryAndVariablesWin() {
        ContainerConfig c = TaskSandbox.withDefaults(fetching().setWorkingDir("/app")
                .addEnv(EnvVar.newBuilder().setName("MESOS_SANDBOX").setValue("mine")).build(), HOST);
        assertEquals("/app", c.getWorkingDir());
        assertEquals(List.of("MESOS_SANDBOX=mine", "VESSEL_SANDBOX=/vessel/sandbox"), env(c));
    }

    @Test
    void withoutARootfsTheTaskSeesTheHostsDirectory() {
        ContainerConfig c = TaskSandbox.withDefaults(fetching().clearHostRootfs().build(), HOST);
        assertEquals(HOST.toString(), c.getWorkingDir());
        assertEquals(HOST.resolve("a").toString(), TaskSandbox.pathInTask(c, HOST, HOST.resolve("a")));
    }

    @Test
    void nothingFetchedNothingChanged() {
        ContainerConfig plain = fetching().clearUris().build();
        assertEquals(plain, TaskSandbox.withDefaults(plain, HOST));
    }
}
