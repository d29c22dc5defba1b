package dev.vessel.node.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.launcher.process.BusyboxRootfs;
import dev.vessel.node.DaemonProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Kubernetes pod's containers as containerd's CRI bundles them, through vessel-runtime: the sandbox has namespaces
 * of its own, and each container lists the sandbox's IPC, UTS (and with a shared process namespace, pid) ones with
 * their paths, to join them; its mount namespace stays its own.
 */
class RuntimeJoinedNamespacesTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;

    static RuntimeFixture runtime;
    static Path rootfs;

    @BeforeAll
    static void setUp() throws Exception {
        DaemonProcess.requireRoot();
        rootfs = BusyboxRootfs.create(tmp.resolve("rootfs"));
        runtime = new RuntimeFixture(tmp.resolve("runtime"));
    }

    @AfterAll
    static void tearDown() throws Exception {
        if (runtime != null) {
            runtime.close();
            assertFalse(ProcessHandle.of(runtime.daemonPid()).isPresent(), "the test's vesseld still runs");
        }
    }

    @Test
    void aContainerJoinsItsSandboxsIpcUtsAndPidNamespacesAndKeepsItsOwnMountNamespace() throws Exception {
        Path sandbox = runtime.bundle("sandbox", rootfs, "sleep", "600");
        edit(sandbox, config -> config.put("hostname", "pod-host"));
        runtime.ok("run", "--detach", "--bundle", sandbox.toString(), "sandbox");
        try {
            long pause = JSON.readTree(runtime.ok("state", "sandbox")).get("pid").asLong();
            Path app = runtime.bundle("app", rootfs, "sh", "-c",
                    "hostname; for ns in ipc uts pid mnt; do readlink /proc/self/ns/$ns; done;"
                            + " tr '\\0' ' ' < /proc/1/cmdline; echo");
            edit(app, config -> {
                config.remove("hostname"); // the joined UTS namespace has the sandbox's
                for (JsonNode ns : config.path("linux").path("namespaces")) {
                    String type = ns.path("type").asText();
                    if (Set.of("ipc", "uts", "pid").contains(type)) {
                        ((ObjectNode) ns).put("path", "/proc/" + pause + "/ns/" + type);
                    }
                }
            });

            RuntimeFixture.Result r = runtime.run("run", "--bundle", app.toString(), "app");

            assertEquals(0, r.exitCode(), r.stderr());
            List<String> lines = r.stdout().lines().toList();
            assertEquals(6, lines.size(), r::stdout);
            assertEquals("pod-host", lines.get(0), "the sandbox's host name");
            for (int i = 0; i < 3; i++) {
                String type = List.of("ipc", "uts", "pid").get(i);
                assertEquals(Files.readSymbolicLink(Path.of("/proc", Long.toString(pause), "ns", type)).toString(),
                        lines.get(1 + i), type + ": the sandbox's");
            }
            assertNotEquals(Files.readSymbolicLink(Path.of("/proc", Long.toString(pause), "ns", "mnt")).toString(),
                    lines.get(4), "its own mount namespace");
            assertEquals("sleep 600 ", lines.get(5), "pid 1 of the joined pid namespace is the sandbox's task");
        } finally {
            runtime.ok("delete", "--force", "sandbox");
        }
    }

    /** A path to the host's own namespace would share it (as listing none would), and one to nothing fails early. */
    @Test
    void theHostsNamespaceAndAMissingOneAreRefusedNamingTheField() throws Exception {
        for (String path : List.of("/proc/" + ProcessHandle.current().pid() + "/ns/ipc", "/proc/self/ns/ipc",
                tmp.resolve("no-namespace").toString())) {
            Path bundle = runtime.bundle("joins-host-" + path.hashCode(), rootfs, "true");
            edit(bundle, config -> {
                for (JsonNode ns : config.path("linux").path("namespaces")) {
                    if (ns.path("type").asText().equals("ipc")) {
                        ((ObjectNode) ns).put("path", path);
                    }
                }
            });
            RuntimeFixture.Result r = runtime.run("create", "--bundle", bundle.toString(), "joins-host");
            assertEquals(1, r.exitCode(), path);
            assertTrue(r.stderr().contains("namespace_paths[ipc]") && r.stderr().contains(path.startsWith("/proc")
                    ? "is the host's ipc namespace" : "is no namespace to join"), r.stderr());
            assertEquals(1, runtime.run("state", "joins-host").exitCode(), "nothing is left of a refused create");
        }
    }

    private static void edit(Path bundle, java.util.function.Consumer<ObjectNode> change) throws Exception {
        Path config = bundle.resolve("config.json");
        ObjectNode json = (ObjectNode) JSON.readTree(config.toFile());
        change.accept(json);
        Files.writeString(config, json.toString());
    }
}
