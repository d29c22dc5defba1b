package dev.vessel.node.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.vessel.core.error.VesselException;
import dev.vessel.node.archive.TarCopy;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * {@code vessel cp SRC DST}, podman's: one side {@code CONTAINER:PATH}, the other a local path or {@code -} (a tar
 * on stdin or stdout). Files travel as a tar stream through the API; a local path with a colon is written
 * {@code ./a:b} or absolute. A directory DST receives SRC under its own name; any other DST is SRC's new name.
 */
@Command(name = "cp", mixinStandardHelpOptions = true, description = "Copy files between a running process container"
        + " and the local filesystem (CONTAINER:PATH on one side; - is a tar on stdin or stdout).")
final class CpCommand implements Callable<Integer> {
    @ParentCommand
    private Vessel vessel;
    @Spec
    private CommandLine.Model.CommandSpec spec;
    @Parameters(index = "0", paramLabel = "SRC")
    private String source;
    @Parameters(index = "1", paramLabel = "DST")
    private String destination;

    /** {@code CONTAINER:PATH}, or a local path (container null). */
    record Location(String container, String path) {
        static Location of(String word) {
            int colon = word.indexOf(':');
            if (colon <= 0 || word.startsWith("/") || word.startsWith(".")) {
                return new Location(null, word);
            }
            return new Location(word.substring(0, colon), word.substring(colon + 1));
        }
    }

    @Override
    public Integer call() throws IOException {
        Location from = Location.of(source);
        Location to = Location.of(destination);
        if ((from.container() == null) == (to.container() == null)) {
            throw new CommandLine.ParameterException(spec.commandLine(), from.container() == null
                    ? "SRC, DST: one of them must be CONTAINER:PATH"
                    : "SRC, DST: copying between two containers is not supported; copy through a local directory");
        }
        Location inside = from.container() != null ? from : to;
        if (!inside.path().startsWith("/")) {
            throw new CommandLine.ParameterException(spec.commandLine(), (inside == from ? "SRC" : "DST") + ": '"
                    + inside.path() + "' must be an absolute path in the container");
        }
        try {
            if (from.container() != null) {
                fromContainer(from, to.path());
            } else {
                toContainer(from.path(), to);
            }
        } catch (VesselException e) {
            throw new CliFailure(e.getMessage());
        }
        return 0;
    }

    private String archivePath(Location inside) {
        return "/v1/containers/" + Paths.segment(inside.container()) + "/archive?path=" + Paths.segment(inside.path());
    }

    private void fromContainer(Location from, String local) throws IOException {
        try (VesselClient.Response r = vessel.client().open("GET", archivePath(from), null)) {
            if (local.equals("-")) {
                r.body.transferTo(vessel.out);
                vessel.out.flush();
                return;
            }
            Path dst = Path.of(local).toAbsolutePath();
            Path into = dst;
            String rename = null;
            if (!Files.isDirectory(dst)) { // the user's own path: a symlink to a directory is followed, as cp does
                into = dst.getParent();
                rename = dst.getFileName().toString();
                if (into == null || !Files.isDirectory(into)) {
                    throw new CliFailure("DST: '" + local + "': no such directory to copy into");
                }
            }
            TarCopy.extract(r.body, into, rename, -1, -1, "the copy of " + from.container() + ":" + from.path());
        }
    }

    private void toContainer(String local, Location to) throws IOException {
        byte[] tar;
        if (local.equals("-")) {
            tar = vessel.in.readAllBytes();
        } else {
            Path src = Path.of(local).toAbsolutePath().normalize();
            if (!Files.exists(src, LinkOption.NOFOLLOW_LINKS)) {
                throw new CliFailure("SRC: '" + local + "': no such file or directory");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            TarCopy.write(src, src.getFileName() == null ? "root" : src.getFileName().toString(), out);
            tar = out.toByteArray();
        }
        try (VesselClient.Response r = vessel.client().send("PUT", archivePath(to), tar, "application/x-tar")) {
            String answer = r.text();
            if (r.status >= 400) {
                throw new CliFailure(VesselClient.errorMessage(r.status, answer));
            }
            JsonNode done = CliJson.JSON.readTree(answer);
            if (!done.has("entries")) {
                throw new CliFailure("unexpected answer of vesseld: " + answer);
            }
        }
    }
}
