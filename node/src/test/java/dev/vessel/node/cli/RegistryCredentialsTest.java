package dev.vessel.node.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.node.cli.CliNode.Result;
import dev.vessel.provisioner.testing.LocalRegistry;
import dev.vessel.provisioner.testing.TestImages;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * Registry credentials through a running daemon and the CLI: {@code login}/{@code logout} take effect at once, whether
 * the CLI's own file or the daemon's holds them; {@code pull --creds}/{@code --authfile} serve one pull; no password
 * reaches an answer, the daemon's log or its state.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RegistryCredentialsTest {
    static final String WRONG_PASSWORD = "wrong-" + UUID.randomUUID();

    @TempDir
    static Path tmp;
    static LocalRegistry registry;
    static CliNode node;
    static Path daemonConfig;
    static String image;

    @BeforeAll
    static void start() throws Exception {
        registry = LocalRegistry.start(tmp.resolve("registry"), true);
        Path layout = TestImages.buildTwoLayer(tmp.resolve("image"), "v1");
        image = registry.address() + "/private/app:v1";
        TestImages.push(layout, "v1", image, LocalRegistry.USER + ":" + LocalRegistry.PASSWORD);
        // the daemon's own config.json, which it reads for a pull that brings no credentials
        daemonConfig = Files.createDirectories(tmp.resolve("daemon-docker")).resolve("config.json");
        node = CliNode.start(tmp, "creds", null, Map.of("DOCKER_CONFIG", daemonConfig.getParent().toString()));
    }

    @AfterAll
    static void stop() throws Exception {
        try {
            if (node != null) {
                node.close();
            }
        } finally {
            if (registry != null) {
                registry.close();
            }
        }
    }

    /** The CLI with its own {@code DOCKER_CONFIG} directory. */
    static Result vessel(Path dockerConfig, String stdin, String... args) {
        return node.vesselWith(Map.of("DOCKER_CONFIG", dockerConfig.toString()), stdin, args);
    }

    static Path emptyDir(String name) throws IOException {
        return Files.createDirectories(tmp.resolve(name));
    }

    static void assertRefusedNamingTheRegistry(Result r) {
        assertEquals(125, r.code(), r::toString);
        assertTrue(r.err().contains("registry " + registry.address() + ": unauthorized"), r::toString);
        assertFalse(r.err().contains(LocalRegistry.PASSWORD) || r.err().contains(WRONG_PASSWORD), r::toString);
    }

    @Test
    @Order(1)
    void loginAndLogoutInTheClisFileTakeEffectWithoutARestart() throws Exception {
        Path cli = emptyDir("cli-docker");
        assertRefusedNamingTheRegistry(vessel(cli, "", "pull", image));

        Result login = vessel(cli, LocalRegistry.PASSWORD + "\n", "login", "-u", LocalRegistry.USER, "--password-stdin",
                registry.address());
        assertEquals(0, login.code(), login::toString);
        Result pull = vessel(cli, "", "pull", image);
        assertEquals(0, pull.code(), pull::toString);
        assertTrue(pull.out().contains("Pulled " + image), pull::toString);
        // run pulls what the node lacks with the same credentials
        assertEquals(0, vessel(cli, "", "rmi", image).code());
        Result run = vessel(cli, "", "run", "--rm", image, "cat", "/etc/motd");
        assertEquals(0, run.code(), run::toString);
        assertEquals("hello v1\n", run.out());

        Result logout = vessel(cli, "", "logout", registry.address());
        assertEquals(0, logout.code(), logout::toString);
        assertEquals("Removed login credentials for " + registry.address() + "\n", logout.out());
        assertRefusedNamingTheRegistry(vessel(cli, "", "pull", image));
        Result again = vessel(cli, "", "logout", registry.address());
        assertEquals(125, again.code(), again::toString);
        assertTrue(again.err().contains("not logged in to " + registry.address()), again::toString);
    }

    /** A client that sends no credentials gets the daemon's own file as it is at the pull, not at the daemon's start. */
    @Test
    @Order(2)
    void theDaemonReadsItsOwnFileAgainWhenItChanges() throws Exception {
        Path cli = emptyDir("cli-without-credentials");
        assertRefusedNamingTheRegistry(vessel(cli, "", "pull", image));
        Result login = vessel(cli, LocalRegistry.PASSWORD + "\n", "login", "--authfile", daemonConfig.toString(),
                "-u", LocalRegistry.USER, "--password-stdin", registry.address());
        assertEquals(0, login.code(), login::toString);
        Result pull = vessel(cli, "", "pull", image);
        assertEquals(0, pull.code(), pull::toString);

        assertEquals(0, vessel(cli, "", "logout", "--authfile", daemonConfig.toString(), registry.address()).code());
        assertRefusedNamingTheRegistry(vessel(cli, "", "pull", image));
    }

    @Test
    @Order(3)
    void credsAndAuthfileServeOnePullWithoutLogin() throws Exception {
        Path cli = emptyDir("cli-creds");
        Result pull = vessel(cli, "", "pull", "--creds", LocalRegistry.USER + ":" + LocalRegistry.PASSWORD, image);
        assertEquals(0, pull.code(), pull::toString);
        // nothing was kept: the next pull without them is refused
        assertRefusedNamingTheRegistry(vessel(cli, "", "pull", image));

        Result wrong = vessel(cli, "", "pull", "--creds", LocalRegistry.USER + ":" + WRONG_PASSWORD, image);
        assertRefusedNamingTheRegistry(wrong);
        Result malformed = vessel(cli, "", "pull", "--creds", WRONG_PASSWORD, image);
        assertEquals(125, malformed.code(), malformed::toString);
        assertEquals("vessel: --creds: must be USER:PASSWORD\n", malformed.err());

        Path authfile = tmp.resolve("podman-auth.json");
        String auth = Base64.getEncoder().encodeToString((LocalRegistry.USER + ":" + LocalRegistry.PASSWORD)
                .getBytes(StandardCharsets.UTF_8));
        Files.writeString(authfile, "{\"auths\":{\"" + registry.address() + "\":{\"auth\":\"" + auth + "\"}}}");
        Result withFile = vessel(cli, "", "pull", "--authfile", authfile.toString(), image);
        assertEquals(0, withFile.code(), withFile::toString);
        Files.writeString(authfile, "{\"auths\":{}}");
        Result noEntry = vessel(cli, "", "pull", "--authfile", authfile.toString(), image);
        assertEquals(125, noEntry.code(), noEntry::toString);
        assertTrue(noEntry.err().contains("holds no credentials for registry " + registry.address()), noEntry::toString);
    }

    @Test
    @Order(4)
    void noPasswordInTheDaemonsLogOrState() throws Exception {
        List<String> secrets = List.of(LocalRegistry.PASSWORD, WRONG_PASSWORD, Base64.getEncoder().encodeToString(
                (LocalRegistry.USER + ":" + LocalRegistry.PASSWORD).getBytes(StandardCharsets.UTF_8)));
        List<Path> files = new ArrayList<>();
        for (Path dir : List.of(node.daemon().stateDir(), node.daemon().runDir())) {
            try (Stream<Path> walk = Files.walk(dir)) {
                walk.filter(Files::isRegularFile).forEach(files::add);
            }
        }
        assertTrue(files.size() > 10, "the daemon's state holds the pulled image: " + files);
        files.add(tmp.resolve("node").resolve(daemonLogName()));
        for (Path file : files) {
            String content = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
            for (String secret : secrets) {
                assertFalse(content.contains(secret), file + " holds a password");
            }
        }
    }

    private static String daemonLogName() throws IOException {
        try (Stream<Path> logs = Files.list(tmp.resolve("node"))) {
            return logs.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("daemon-") && n.endsWith(".log"))
                    .findFirst().orElseThrow();
        }
    }
}
