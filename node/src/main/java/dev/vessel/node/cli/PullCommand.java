package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vessel.provisioner.registry.Credentials;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;

/**
 * {@code vessel pull}: fetches an image onto the node, showing the daemon's progress. Credentials go with the request
 * for this pull only: {@code --creds}, else {@code --authfile}'s entry, else {@code login}'s, when there is one.
 */
@Command(name = "pull", mixinStandardHelpOptions = true, description = "Pull an image: busybox, registry:5000/repo:tag, oci:/layout:tag, docker-archive:/file.tar.")
final class PullCommand implements Callable<Integer> {
    private static final int BAR = 30;

    @ParentCommand
    private Vessel vessel;
    @Parameters(paramLabel = "IMAGE")
    private String image;
    @Option(names = "--creds", paramLabel = "USER:PASSWORD", description = "credentials for this pull only")
    private String creds;
    @Option(names = "--authfile", paramLabel = "FILE", description = "take the registry's credentials from this file"
            + " (docker's config.json format) instead of login's")
    private Path authfile;

    @Override
    public Integer call() {
        pull(vessel.client(), image, AuthFile.forPull(image, creds, authfile, vessel.env), vessel.out, vessel.terminal);
        return 0;
    }

    /** Pulls and reports to {@code to}: one bar redrawn in place on a terminal, a line per event otherwise. */
    static void pull(VesselClient client, String image, Optional<Credentials> credentials, PrintStream to, boolean terminal) {
        ObjectNode request = CliJson.JSON.createObjectNode().put("image", image);
        credentials.ifPresent(c -> request.putObject("credentials").put("username", c.username()).put("password", c.password()));
        String body = request.toString();
        try (VesselClient.Response r = client.open("POST", "/v1/images/pull", body)) {
            BufferedReader lines = new BufferedReader(new InputStreamReader(r.body, StandardCharsets.UTF_8));
            boolean barShown = false;
            for (String line = lines.readLine(); line != null; line = lines.readLine()) {
                JsonNode event = CliJson.JSON.readTree(line);
                if (event.has("error")) {
                    if (barShown) {
                        to.println();
                    }
                    throw new CliFailure(VesselClient.errorMessage(500, event.toString()));
                }
                String status = event.path("status").asText();
                String blob = event.path("digest").asText("").replaceFirst("^sha256:", "");
                blob = blob.substring(0, Math.min(12, blob.length()));
                switch (status) {
                    case "pulling" -> to.println("Pulling " + event.path("image").asText());
                    case "pulled" -> {
                        if (barShown) {
                            to.println();
                        }
                        to.println("Pulled " + event.path("image").asText() + " (" + event.path("manifest_digest").asText() + ")");
                        return;
                    }
                    case "downloading" -> {
                        if (terminal) {
                            to.print("\r" + blob + ": " + bar(event.path("bytes_done").asLong(), event.path("total_bytes").asLong()));
                            to.flush();
                            barShown = true;
                        } else {
                            to.println(blob + ": downloading " + bytes(event.path("bytes_done").asLong()) + "/"
                                    + bytes(event.path("total_bytes").asLong()));
                        }
                    }
                    default -> {
                        if (barShown) {
                            to.print("\r\033[K"); // clears the bar the line replaces
                            barShown = false;
                        }
                        to.println(blob + ": " + (status.equals("present") ? "already present" : "done"));
                    }
                }
            }
            throw new CliFailure("pull " + image + ": the daemon ended the progress stream without a result");
        } catch (IOException e) {
            throw new CliFailure("pull " + image + ": " + e.getMessage());
        }
    }

    private static String bar(long done, long total) {
        int filled = total <= 0 ? 0 : (int) Math.min(BAR, done * BAR / total);
        return "[" + "=".repeat(filled) + (filled < BAR ? ">" + " ".repeat(BAR - filled - 1) : "") + "] "
                + bytes(done) + "/" + bytes(total);
    }

    static String bytes(long n) {
        if (n < 1024) {
            return n + "B";
        }
        String units = "kMGT";
        double value = n;
        int unit = -1;
        while (value >= 1024 && unit < units.length() - 1) {
            value /= 1024;
            unit++;
        }
        return String.format(java.util.Locale.ROOT, "%.1f%sB", value, units.charAt(unit));
    }
}
