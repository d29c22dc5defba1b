package dev.vessel.core.testing;

import dev.vessel.core.model.ImageDefaults;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.spi.ProvisionedRootfs;
import dev.vessel.core.spi.Provisioner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/** A test double of the provisioner SPI: a real directory per container, image defaults as given. */
public final class RecordingProvisioner implements Provisioner {
    private final Path root;
    private final CallLog log;
    private volatile ImageDefaults defaults = ImageDefaults.getDefaultInstance();
    private volatile boolean failing;
    public volatile Set<String> recoveredWith;

    public RecordingProvisioner(Path root, CallLog log) {
        this.root = root;
        this.log = log;
    }

    public RecordingProvisioner withDefaults(ImageDefaults defaults) {
        this.defaults = defaults;
        return this;
    }

    public RecordingProvisioner failing() {
        this.failing = true;
        return this;
    }

    public Path rootfsOf(String containerId) {
        return root.resolve(containerId);
    }

    @Override
    public ProvisionedRootfs provision(String containerId, ImageReference image) throws Exception {
        log.add("provisioner:provision:" + containerId);
        if (failing) {
            throw new java.io.IOException("registry unreachable");
        }
        return new ProvisionedRootfs(Files.createDirectories(rootfsOf(containerId)), defaults);
    }

    @Override
    public void destroy(String containerId) throws Exception {
        log.add("provisioner:destroy:" + containerId);
        Files.deleteIfExists(rootfsOf(containerId));
    }

    @Override
    public void recover(Set<String> containerIds) {
        log.add("provisioner:recover:" + String.join(",", containerIds.stream().sorted().toList()));
        recoveredWith = containerIds;
    }
}
