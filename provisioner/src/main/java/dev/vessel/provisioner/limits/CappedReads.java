package dev.vessel.provisioner.limits;

import dev.vessel.core.error.VesselException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads a whole metadata document from an untrusted source, refusing it once it passes its cap: the
 * read stops there, so a source that streams forever costs at most the cap and one buffer.
 */
public final class CappedReads {
    private CappedReads() {
    }

    /** All of {@code in} (closed afterwards), or an error naming {@code document} past {@code cap} bytes. */
    public static byte[] read(InputStream in, long cap, String document) throws IOException {
        try (InputStream capped = new CappedInputStream(in, cap, () -> {
            throw tooLarge(document, cap);
        })) {
            return capped.readAllBytes();
        }
    }

    public static byte[] read(Path file, long cap, String document) throws IOException {
        return read(Files.newInputStream(file), cap, document);
    }

    /** Refuses a document whose declared size (a descriptor's) already passes the cap, before fetching it. */
    public static void checkDeclared(long size, long cap, String document) {
        if (size > cap) {
            throw VesselException.invalid(document, "declared size " + size + " bytes is larger than the "
                    + cap + " bytes a document may take; refused");
        }
    }

    private static VesselException tooLarge(String document, long cap) {
        return VesselException.invalid(document, "larger than the " + cap + " bytes a document may take; refused");
    }
}
