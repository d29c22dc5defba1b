package dev.vessel.provisioner.image;

import com.fasterxml.jackson.annotation.JsonInclude;

/** An OCI platform: os, architecture and optional variant (e.g. linux/arm64/v8). */
@JsonInclude(JsonInclude.Include.NON_EMPTY)
public record Platform(String os, String architecture, String variant) {
    public static final Platform LINUX_AMD64 = new Platform("linux", "amd64", null);

    /** Does a manifest for {@code candidate} run here? An unset variant on either side matches any. */
    public boolean matches(Platform candidate) {
        return candidate != null
                && os.equals(candidate.os())
                && architecture.equals(candidate.architecture())
                && (isEmpty(variant) || isEmpty(candidate.variant()) || variant.equals(candidate.variant()));
    }

    private static boolean isEmpty(String s) {
        return s == null || s.isEmpty();
    }

    @Override
    public String toString() {
        return os + "/" + architecture + (isEmpty(variant) ? "" : "/" + variant);
    }
}
