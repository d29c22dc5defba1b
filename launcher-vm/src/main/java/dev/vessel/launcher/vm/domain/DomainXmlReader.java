package dev.vessel.launcher.vm.domain;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Path;
import java.util.Optional;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

/** Reads what libvirt hands back as XML: no DTDs, no external entities, namespaces kept. */
final class DomainXmlReader {
    private DomainXmlReader() {
    }

    /** The document element of {@code xml}; empty when it is not well-formed. */
    static Optional<Element> root(String xml) {
        try {
            DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
            factory.setNamespaceAware(true);
            factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            return Optional.of(factory.newDocumentBuilder().parse(new InputSource(new StringReader(xml)))
                    .getDocumentElement());
        } catch (ParserConfigurationException | SAXException | IOException e) {
            return Optional.empty();
        }
    }

    /**
     * The pty libvirt gave the first serial port of a running domain ({@code <serial type='pty'><source
     * path='/dev/pts/N'/>}), from its live XML.
     */
    static Optional<Path> serialPty(String liveXml) {
        return root(liveXml).flatMap(domain -> {
            NodeList serials = domain.getElementsByTagName("serial");
            for (int i = 0; i < serials.getLength(); i++) {
                Element serial = (Element) serials.item(i);
                if (!"pty".equals(serial.getAttribute("type"))) {
                    continue;
                }
                NodeList sources = serial.getElementsByTagName("source");
                if (sources.getLength() > 0 && ((Element) sources.item(0)).hasAttribute("path")) {
                    return Optional.of(Path.of(((Element) sources.item(0)).getAttribute("path")));
                }
            }
            return Optional.empty();
        });
    }
}
