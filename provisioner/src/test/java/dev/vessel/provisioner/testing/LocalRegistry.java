package dev.vessel.provisioner.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/** A real {@code docker-registry} on 127.0.0.1 and a free port, storing under a test directory. */
public final class LocalRegistry implements AutoCloseable {
    /**
     * bcrypt of {@link #PASSWORD} (Debian 12 has no htpasswd without apache2-utils and Java no bcrypt), made with
     * {@code python3 -c "import crypt; print(crypt.crypt('vessel-test-pass', crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)))"}
     * (cost 4: the registry checks it on every request, and cost 12 made the auth tests seconds slower).
     */
    public static final String USER = "vessel";
    public static final String PASSWORD = "vessel-test-pass";
    private static final String PASSWORD_BCRYPT = "$2b$04$0GrkMzEtwMo668gzNPRDqO/qrXuc1f6rafh2VanYq.vxnl6m/v7Qm";

    private final Process process;
    private final int port;

    private LocalRegistry(Process process, int port) {
        this.process = process;
        this.port = port;
    }

    public static LocalRegistry start(Path dir, boolean withAuth) throws IOException, InterruptedException {
        Tools.require("docker-registry");
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Files.createDirectories(dir.resolve("storage"));
        StringBuilder config = new StringBuilder("""
                version: 0.1
                log:
                  level: warn
                  accesslog:
                    disabled: true
                storage:
                  filesystem:
                    rootdirectory: %s
                  delete:
                    enabled: true
                http:
                  addr: 127.0.0.1:%d
                """.formatted(dir.resolve("storage"), port));
        if (withAuth) {
            Path htpasswd = dir.resolve("htpasswd");
            Files.writeString(htpasswd, USER + ":" + PASSWORD_BCRYPT + "\n");
            config.append("""
                    auth:
                      htpasswd:
                        realm: vessel-test
                        path: %s
                    """.formatted(htpasswd));
        }
        Path configFile = dir.resolve("config.yml");
        Files.writeString(configFile, config);
        Process p = new ProcessBuilder("/usr/bin/docker-registry", "serve", configFile.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("registry.log").toFile()).start();
        LocalRegistry registry = new LocalRegistry(p, port);
        registry.awaitReady(dir.resolve("registry.log"));
        return registry;
    }

    public String address() {
        return "127.0.0.1:" + port;
    }

    private void awaitReady(Path log) throws IOException, InterruptedException {
        try (HttpClient http = HttpClient.newHttpClient()) {
            for (int i = 0; i < 100; i++) {
                if (!process.isAlive()) {
                    fail("docker-registry exited: " + Files.readString(log));
                }
                try {
                    http.send(HttpRequest.newBuilder(URI.create("http://" + address() + "/v2/"))
                            .timeout(Duration.ofSeconds(1)).build(), HttpResponse.BodyHandlers.discarding());
                    return;
                } catch (IOException notYet) {
                    Thread.sleep(50);
                }
            }
        }
        close();
        fail("docker-registry did not answer on " + address() + ": " + Files.readString(log));
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
