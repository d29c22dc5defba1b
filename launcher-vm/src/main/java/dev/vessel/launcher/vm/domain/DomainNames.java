package dev.vessel.launcher.vm.domain;

import dev.vessel.core.paths.ShortNames;
import java.util.UUID;
import java.util.regex.Pattern;

/** The names of Vessel's libvirt domains: {@code vessel-<container id>}, or {@code vessel-warm-<random>}. */
public final class DomainNames {
    private static final String PREFIX = "vessel-";
    private static final Pattern UNSAFE_NAME_CHARS = Pattern.compile("[^A-Za-z0-9_.-]");

    private DomainNames() {
    }

    /**
     * {@code vessel-<id>}. Container ids are validated to [A-Za-z0-9_.-] already; anything else is
     * replaced, and then a hash of the real id is appended so two ids never share a name.
     */
    public static String forContainer(String containerId) {
        String safe = UNSAFE_NAME_CHARS.matcher(containerId).replaceAll("_");
        return safe.equals(containerId) && !safe.isEmpty()
                ? PREFIX + safe
                : PREFIX + safe + "-" + ShortNames.hash(containerId, 12);
    }

    /** {@code vessel-template-<random>}: the guest a guest template is saved from, and the template's name. */
    public static String forTemplate() {
        return PREFIX + "template-" + ShortNames.hash(UUID.randomUUID().toString(), 12);
    }

    /**
     * {@code vessel-warm-<random>}: a guest made before it has a container (booted ahead of demand, or restored
     * from a template).
     */
    public static String forWarmGuest() {
        return PREFIX + "warm-" + ShortNames.hash(UUID.randomUUID().toString(), 12);
    }
}
