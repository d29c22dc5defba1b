package dev.vessel.provisioner.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Builds small OCI images with umoci and pushes or converts them with skopeo. */
public final class TestImages {
    private TestImages() {
    }

    /**
     * A two-layer image {@code layout:tag}: layer 1 has /bin/busybox, /etc/motd, /etc/gone and /data/old/f;
     * layer 2 deletes /etc/gone (a whiteout), replaces /data (an opaque directory) and adds /data/new.
     * Entrypoint /bin/busybox, Cmd sh, Env A=1 and B=two words, WorkingDir /data, User 1000.
     */
    public static Path buildTwoLayer(Path work, String tag) throws IOException, InterruptedException {
        Tools.require("umoci", "busybox");
        Path layout = work.resolve("oci");
        String image = layout + ":" + tag;
        if (!Files.exists(layout.resolve("oci-layout"))) {
            Tools.run("umoci", "init", "--layout", layout.toString());
        }
        Tools.run("umoci", "new", "--image", image);

        Path b1 = work.resolve("bundle1-" + tag);
        Tools.run("umoci", "unpack", "--image", image, b1.toString());
        Path root = b1.resolve("rootfs");
        Files.createDirectories(root.resolve("bin"));
        Files.createDirectories(root.resolve("data/old"));
        Files.createDirectories(root.resolve("etc"));
        Files.copy(Path.of("/usr/bin/busybox"), root.resolve("bin/busybox"));
        Files.writeString(root.resolve("etc/motd"), "hello " + tag + "\n");
        Files.writeString(root.resolve("etc/gone"), "deleted in layer 2\n");
        Files.writeString(root.resolve("data/old/f"), "old\n");
        Tools.run("umoci", "repack", "--image", image, b1.toString());

        // A fresh unpack: repack diffs against the bundle's own unpack, so each layer needs its own bundle.
        Path b2 = work.resolve("bundle2-" + tag);
        Tools.run("umoci", "unpack", "--image", image, b2.toString());
        root = b2.resolve("rootfs");
        Files.delete(root.resolve("etc/gone"));
        Files.delete(root.resolve("data/old/f"));
        Files.delete(root.resolve("data/old"));
        Files.delete(root.resolve("data"));
        Files.createDirectories(root.resolve("data"));
        Files.writeString(root.resolve("data/new"), "new\n");
        Tools.run("umoci", "repack", "--image", image, b2.toString());

        List<String> config = new ArrayList<>(List.of("umoci", "config", "--image", image,
                "--config.entrypoint", "/bin/busybox", "--config.cmd", "sh",
                "--config.env", "A=1", "--config.env", "B=two words",
                "--config.workingdir", "/data", "--config.user", "1000"));
        Tools.run(config);
        return layout;
    }

    /** {@code skopeo copy} from an OCI layout to a loopback registry (plain HTTP). */
    public static void push(Path layout, String tag, String destination, String creds) throws IOException, InterruptedException {
        Tools.require("skopeo");
        List<String> cmd = new ArrayList<>(List.of("skopeo", "copy", "--quiet", "--dest-tls-verify=false"));
        if (creds != null) {
            cmd.addAll(List.of("--dest-creds", creds));
        }
        cmd.addAll(List.of("oci:" + layout + ":" + tag, "docker://" + destination));
        Tools.run(cmd);
    }
}
