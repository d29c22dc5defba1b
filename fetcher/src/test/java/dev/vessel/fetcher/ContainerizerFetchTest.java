package dev.vessel.fetcher;

import static dev.vessel.fetcher.FetchFixture.uri;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.vessel.core.containerizer.UnifiedContainerizer;
import dev.vessel.core.model.ContainerConfig;
import dev.vessel.core.model.FetchedUri;
import dev.vessel.core.model.Isolation;
import dev.vessel.core.model.Termination;
import dev.vessel.core.spi.ContainerContext;
import dev.vessel.core.spi.LaunchPlan;
import dev.vessel.core.spi.LaunchedTask;
import dev.vessel.core.spi.Launcher;
import dev.vessel.core.validation.ConfigValidator;
import dev.vessel.core.validation.NodeCapacity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The containerizer fetches a container's URIs into its sandbox before the task starts. */
class ContainerizerFetchTest {
    @TempDir
    Path tmp;

    /** Starts nothing: it records what the sandbox holds at the moment the task would be forked. */
    static final class SandboxRecordingLauncher implements Launcher {
        final Map<String, String> seenAtFork = new ConcurrentHashMap<>();
        final Path sandbox;

        SandboxRecordingLauncher(Path sandbox) {
            this.sandbox = sandbox;
        }

        @Override
        public String name() {
            return "recording";
        }

        @Override
        public Isolation isolation() {
            return Isolation.PROCESS;
        }

        @Override
        public LaunchedTask fork(LaunchPlan plan) throws Exception {
            try (var files = Files.list(sandbox)) {
                for (Path f : files.toList()) {
                    seenAtFork.put(f.getFileName().toString(), Files.readString(f));
                }
            }
            return new LaunchedTask() {
                public long pid() {
                    return 4242;
                }

                public void release() {
                }

                public CompletableFuture<Termination> exit() {
                    return new CompletableFuture<>();
                }

                public void signal(int signal) {
                }

                public void destroy() {
                }
            };
        }

        @Override
        public Optional<LaunchedTask> recover(ContainerContext container) {
            return Optional.empty();
        }
    }

    @Test
    void theUrisAreInTheSandboxBeforeTheTaskStarts() throws Exception {
        FetchFixture node = new FetchFixture(tmp);
        Path sandbox = node.paths.sandboxDir(node.paths.containerDir(List.of("web")));
        SandboxRecordingLauncher launcher = new SandboxRecordingLauncher(sandbox);
        UnifiedContainerizer containerizer = UnifiedContainerizer
                .builder(node.paths, new ConfigValidator(new NodeCapacity(2, 1L << 30)))
                .launcher(launcher)
                .fetcher(node.http)
                .build();
        containerizer.recover();

        ContainerConfig config;
        try (ArtifactServer server = new ArtifactServer().put("/site/index.html", HttpFetcherTest.HELLO)) {
            containerizer.launch(config = ContainerConfig.newBuilder().setId("web").setIsolation(Isolation.PROCESS)
                    .addCommand("/bin/true").setHostRootfs(Files.createDirectories(tmp.resolve("rootfs")).toString())
                    .addUris(uri(server.uri("/site/index.html")).setExpectedDigest(HttpFetcherTest.HELLO_DIGEST))
                    .build());
        }

        assertEquals(Map.of("index.html", "hello, sandbox\n"), launcher.seenAtFork);
        // what was fetched, as the task sees it, and how the task finds it
        assertEquals(List.of(FetchedUri.newBuilder().setUri(config.getUris(0).getUri()).setPath("/vessel/sandbox/index.html")
                .setDigest(HttpFetcherTest.HELLO_DIGEST).setSizeBytes(HttpFetcherTest.HELLO.length).setFromCache(false).build()),
                containerizer.status("web").getFetchedList());
        ContainerConfig seen = containerizer.config("web");
        assertEquals("/vessel/sandbox", seen.getWorkingDir());
        assertEquals(List.of("VESSEL_SANDBOX=/vessel/sandbox", "MESOS_SANDBOX=/vessel/sandbox"),
                seen.getEnvList().stream().map(e -> e.getName() + "=" + e.getValue()).toList());
    }
}
