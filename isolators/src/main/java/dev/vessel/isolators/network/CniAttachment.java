package dev.vessel.isolators.network;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;

/**
 * One network of a container as its DEL needs it: the interface, the configuration and port
 * mappings the ADD ran with, and the ADD's result; {@code result} is null while the ADD has not
 * finished (a DEL then still runs, to release what the ADD may have taken).
 */
public record CniAttachment(String ifName, NetworkConfig network, JsonNode portMappings, JsonNode result) {
    public CniAttachment {
        if (result != null && result.isNull()) {
            result = null; // JSON null reads back as a NullNode
        }
    }

    CniAttachment withResult(JsonNode added) {
        return new CniAttachment(ifName, network, portMappings, added);
    }

    /** The addresses of the result (CIDR {@code 10.88.7.2/24} → {@code 10.88.7.2}). */
    List<String> ipAddresses() {
        List<String> ips = new ArrayList<>();
        if (result != null) {
            for (JsonNode ip : result.path("ips")) {
                String address = ip.path("address").asText("");
                if (!address.isEmpty()) {
                    ips.add(address.contains("/") ? address.substring(0, address.indexOf('/')) : address);
                }
            }
        }
        return ips;
    }
}
