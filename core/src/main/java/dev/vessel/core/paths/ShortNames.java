package dev.vessel.core.paths;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Short, stable stand-ins for names that would not fit where they go (a unix socket path, a libvirt
 * domain name): a prefix of the SHA-256 of the full name, so two names never share one in practice.
 */
public final class ShortNames {
    private ShortNames() {
    }

    /** The first {@code hexChars} hex digits of SHA-256 of {@code name}. */
    public static String hash(String name, int hexChars) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(name.getBytes(StandardCharsets.UTF_8))).substring(0, hexChars);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
