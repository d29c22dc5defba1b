package dev.vessel.provisioner.reference;

import dev.vessel.core.error.Quoted;
import dev.vessel.core.error.VesselException;
import dev.vessel.core.model.ImageReference;
import dev.vessel.core.model.ImageSource;
import dev.vessel.provisioner.store.Digest;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Docker's image reference grammar (distribution/reference, "normalized named"):
 * {@code [registry/]repository[:tag][@digest]}, with Docker Hub as the default registry and
 * {@code library/} as the default namespace there; and, where a user names an image to this node,
 * the local sources in skopeo's transport syntax ({@code oci:/path[:tag]}, {@code docker-archive:/path[:tag]}).
 * {@link #format} writes both forms.
 */
public final class ImageReferenceParser {
    public static final String DOCKER_HUB = "registry-1.docker.io";
    public static final String DEFAULT_TAG = "latest";

    private static final String FIELD = "image";
    private static final String OCI = "oci:";
    private static final String DOCKER_ARCHIVE = "docker-archive:";
    private static final int MAX_NAME_LENGTH = 255;
    private static final Pattern DOMAIN_COMPONENT = Pattern.compile("[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]");
    private static final Pattern PORT = Pattern.compile("[0-9]{1,5}");
    private static final Pattern IPV6 = Pattern.compile("\\[[a-fA-F0-9:]+\\]");
    private static final Pattern PATH_COMPONENT = Pattern.compile("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
    private static final Pattern TAG = Pattern.compile("[\\w][\\w.-]{0,127}");

    private ImageReferenceParser() {
    }

    /** A registry reference; errors name the field "image". */
    public static ImageReference parse(String text) {
        return parseRegistry(FIELD, text);
    }

    /**
     * An image as users write it to this node: a registry reference or a local source, which reads
     * the node's own files (so not for what a task names, such as its fetch URIs); errors name {@code field}.
     */
    public static ImageReference parseWithLocalSources(String field, String text) {
        if (text.startsWith(OCI)) {
            return local(field, ImageSource.OCI_LAYOUT, text.substring(OCI.length()));
        }
        if (text.startsWith(DOCKER_ARCHIVE)) {
            return local(field, ImageSource.DOCKER_ARCHIVE, text.substring(DOCKER_ARCHIVE.length()));
        }
        return parseRegistry(field, text);
    }

    private static ImageReference local(String field, ImageSource source, String pathAndTag) {
        int colon = pathAndTag.lastIndexOf(':');
        boolean tagged = colon > pathAndTag.lastIndexOf('/');
        String path = tagged ? pathAndTag.substring(0, colon) : pathAndTag;
        if (!path.startsWith("/")) {
            throw VesselException.invalid(field, "the path of " + Quoted.of(pathAndTag) + " must be absolute");
        }
        return ImageReference.newBuilder().setSource(source).setPath(path)
                .setTag(tagged ? pathAndTag.substring(colon + 1) : "").build();
    }

    private static ImageReference parseRegistry(String field, String text) {
        if (text == null || text.isEmpty()) {
            throw VesselException.invalid(field, "image reference is empty");
        }
        String rest = text;
        String digest = "";
        int at = rest.indexOf('@');
        if (at >= 0) {
            digest = Digest.parse(field, rest.substring(at + 1)).toString();
            rest = rest.substring(0, at);
        }
        String tag = "";
        int colon = rest.lastIndexOf(':');
        if (colon > rest.lastIndexOf('/')) {
            tag = rest.substring(colon + 1);
            rest = rest.substring(0, colon);
            if (!TAG.matcher(tag).matches()) {
                throw VesselException.invalid(field, "tag " + Quoted.of(tag)
                        + " is invalid: it must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
            }
        }
        if (rest.isEmpty()) {
            throw VesselException.invalid(field, "reference " + Quoted.of(text) + " has no repository name");
        }
        if (rest.length() > MAX_NAME_LENGTH) {
            throw VesselException.invalid(field, "name " + Quoted.of(rest) + " is longer than " + MAX_NAME_LENGTH + " characters");
        }
        String registry = DOCKER_HUB;
        String repository = rest;
        int slash = rest.indexOf('/');
        if (slash >= 0 && isDomain(rest.substring(0, slash))) {
            registry = rest.substring(0, slash);
            repository = rest.substring(slash + 1);
            checkDomain(field, registry);
        }
        if (registry.equals("docker.io") || registry.equals("index.docker.io")) {
            registry = DOCKER_HUB;
        }
        checkRepository(field, repository);
        if (registry.equals(DOCKER_HUB) && repository.indexOf('/') < 0) {
            repository = "library/" + repository;
        }
        if (tag.isEmpty() && digest.isEmpty()) {
            tag = DEFAULT_TAG;
        }
        return ImageReference.newBuilder()
                .setSource(ImageSource.REGISTRY)
                .setRegistry(registry)
                .setRepository(repository)
                .setTag(tag)
                .setDigest(digest)
                .build();
    }

    /**
     * The canonical string: {@code registry/repository[:tag][@digest]} for a registry, {@code oci:PATH[:tag]}
     * or {@code docker-archive:PATH[:tag]} for the local sources (skopeo's transport syntax).
     */
    public static String format(ImageReference ref) {
        String tag = ref.getTag().isEmpty() ? "" : ":" + ref.getTag();
        return switch (ref.getSource()) {
            case OCI_LAYOUT -> "oci:" + ref.getPath() + tag;
            case DOCKER_ARCHIVE -> "docker-archive:" + ref.getPath() + tag;
            default -> ref.getRegistry() + "/" + ref.getRepository() + tag
                    + (ref.getDigest().isEmpty() ? "" : "@" + ref.getDigest());
        };
    }

    /** Docker's rule: the first component names a registry when it has '.' or ':', is 'localhost', or has upper case. */
    private static boolean isDomain(String first) {
        return first.contains(".") || first.contains(":") || first.equals("localhost")
                || !first.toLowerCase(Locale.ROOT).equals(first);
    }

    private static void checkDomain(String field, String domain) {
        String host = domain;
        int colon = domain.lastIndexOf(':');
        if (colon >= 0 && colon > domain.lastIndexOf(']')) {
            String port = domain.substring(colon + 1);
            if (!PORT.matcher(port).matches() || Integer.parseInt(port) > 65535) {
                throw VesselException.invalid(field, "registry " + Quoted.of(domain) + " has an invalid port " + Quoted.of(port));
            }
            host = domain.substring(0, colon);
        }
        if (IPV6.matcher(host).matches()) {
            return;
        }
        for (String component : host.split("\\.", -1)) {
            if (!DOMAIN_COMPONENT.matcher(component).matches()) {
                throw VesselException.invalid(field, "registry " + Quoted.of(domain)
                        + " is not a valid host name (component " + Quoted.of(component) + ")");
            }
        }
    }

    private static void checkRepository(String field, String repository) {
        if (!repository.toLowerCase(Locale.ROOT).equals(repository)) {
            throw VesselException.invalid(field, "repository " + Quoted.of(repository) + " must be lowercase");
        }
        for (String component : repository.split("/", -1)) {
            if (!PATH_COMPONENT.matcher(component).matches()) {
                throw VesselException.invalid(field, "repository " + Quoted.of(repository) + " has an invalid component "
                        + Quoted.of(component) + ": components are lowercase letters and digits, separated by '.', '_', '__' or '-'");
            }
        }
    }
}
