package dev.vessel.launcher.vm;

import dev.vessel.core.paths.Trees;
import dev.vessel.launcher.vm.domain.VmVolumes;
import dev.vessel.linux.Mounts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A VM task's file binds on the host: each bound file is bind-mounted into a directory of the task's own
 * ({@code <container dir>/vm-files/<n>/}, one per host directory its files come from), which the domain shares (9p
 * shares directories), so the guest sees that file, live, and none of its neighbours it was not given. Made before
 * the domain starts, whose QEMU's mount namespace copies them; unmounted and removed with the domain.
 */
final class FileShares {
    private FileShares() {
    }

    /** Where the file binds of the container whose directory is {@code containerDir} go. */
    static Path of(Path containerDir) {
        return containerDir.resolve("vm-files");
    }

    /** Binds each file on its directory's mount point; a read-only one read-only. */
    static void bind(List<VmVolumes.FileShare> files) throws IOException {
        for (VmVolumes.FileShare file : files) {
            Files.createDirectories(file.dir());
            Path point = Files.createFile(file.bound());
            Mounts.mount(file.file().toString(), point, null, Mounts.MS_BIND, null);
            if (file.readOnly()) {
                Mounts.mount(null, point, null, Mounts.MS_BIND | Mounts.MS_REMOUNT | Mounts.MS_RDONLY, null);
            }
        }
    }

    /**
     * Unmounts the binds, then removes the directories (and what the guest made there); a mount still
     * there fails the removal instead of reaching the bound file. Nothing there is no error.
     */
    static void remove(Path dir) throws IOException {
        if (Files.exists(dir)) {
            Mounts.unmountTree(dir);
            Trees.delete(dir);
        }
    }
}
