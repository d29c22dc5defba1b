package dev.vessel.launcher.vm.domain;

import java.util.Optional;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * Vessel's mark on a libvirt domain, in the domain's {@code <metadata>}: which container it runs and
 * which daemon (by state dir) owns it. Only domains carrying this mark with our state dir are ever
 * destroyed as orphans.
 */
public record DomainMetadata(String containerId, String stateDir) {
    /** The XML namespace of the element; libvirt keys custom metadata by it. */
    public static final String NAMESPACE = "https://vessel.dev/libvirt/domain/1";
    public static final String PREFIX = "vessel";
    private static final String ELEMENT = "container";

    void write(XMLStreamWriter xml) throws XMLStreamException {
        xml.writeStartElement(PREFIX, ELEMENT, NAMESPACE);
        xml.writeNamespace(PREFIX, NAMESPACE);
        xml.writeAttribute("id", containerId);
        xml.writeAttribute("state-dir", stateDir);
        xml.writeEndElement();
    }

    /**
     * Reads the element libvirt returns for our namespace (it hands it back without the namespace, the
     * call having selected it) or the element as written; empty when it is not ours or malformed.
     */
    static Optional<DomainMetadata> parse(String elementXml) {
        return DomainXmlReader.root(elementXml).flatMap(root -> {
            String namespace = root.getNamespaceURI();
            if (namespace != null && !NAMESPACE.equals(namespace) || !ELEMENT.equals(root.getLocalName())
                    || !root.hasAttribute("id") || !root.hasAttribute("state-dir")) {
                return Optional.empty();
            }
            return Optional.of(new DomainMetadata(root.getAttribute("id"), root.getAttribute("state-dir")));
        });
    }
}
