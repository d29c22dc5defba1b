package dev.vessel.provisioner.store;

import dev.vessel.core.error.ErrorCode;
import dev.vessel.core.error.VesselException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/** A content digest {@code algorithm:hex}, as in the OCI image spec. Only sha256 and sha512 are verifiable. */
public record Digest(String algorithm, String hex) {
    private static final Pattern HEX = Pattern.compile("[0-9a-f]+");

    public Digest {
        String problem = problem(algorithm, hex);
        if (problem != null) {
            throw VesselException.invalid("digest", problem);
        }
    }

    /** Parses {@code algorithm:hex}; {@code field} names what is being parsed in the error. */
    public static Digest parse(String field, String value) {
        int colon = value == null ? -1 : value.indexOf(':');
        if (colon <= 0) {
            throw VesselException.invalid(field, "digest '" + value + "' must be of the form algorithm:hex");
        }
        String algorithm = value.substring(0, colon);
        String hex = value.substring(colon + 1);
        String problem = problem(algorithm, hex);
        if (problem != null) {
            throw VesselException.invalid(field, problem);
        }
        return new Digest(algorithm, hex);
    }

    /** What is wrong with {@code algorithm:hex}, or null when nothing is. */
    private static String problem(String algorithm, String hex) {
        int expected = switch (algorithm) {
            case "sha256" -> 64;
            case "sha512" -> 128;
            default -> 0;
        };
        if (expected == 0) {
            return "digest algorithm '" + algorithm + "' is not supported (sha256, sha512)";
        }
        if (hex.length() != expected || !HEX.matcher(hex).matches()) {
            return "digest '" + algorithm + ":" + hex + "' must have " + expected + " hex characters (0-9, a-f)";
        }
        return null;
    }

    public static Digest sha256(byte[] content) {
        return new Digest("sha256", HexFormat.of().formatHex(newHasher("sha256").digest(content)));
    }

    /** A fresh hasher for this digest's algorithm. */
    public MessageDigest newHasher() {
        return newHasher(algorithm);
    }

    /** The digest of what {@code hasher} (made by {@link #newHasher()}) has consumed. */
    public Digest finish(MessageDigest hasher) {
        return new Digest(algorithm, HexFormat.of().formatHex(hasher.digest()));
    }

    /** The content named {@code what} does not match its digest: always DATA_LOSS, both digests named. */
    public static VesselException mismatch(String what, Digest expected, Digest actual) {
        return new VesselException(ErrorCode.DATA_LOSS, what,
                "content does not match its digest: expected " + expected + ", got " + actual);
    }

    /** The digest {@code algorithm:<hex of what hasher consumed>}. */
    public static Digest of(String algorithm, MessageDigest hasher) {
        return new Digest(algorithm, HexFormat.of().formatHex(hasher.digest()));
    }

    public static MessageDigest newHasher(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm.equals("sha256") ? "SHA-256" : "SHA-512");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has " + algorithm, e);
        }
    }

    @Override
    public String toString() {
        return algorithm + ":" + hex;
    }
}
