package dev.vessel.isolators.network;

import java.util.ArrayList;
import java.util.List;

/** What the CNI isolator checkpoints for one container: its attachments, in ADD order. */
public record CniState(List<CniAttachment> attachments) {
    public CniState {
        attachments = List.copyOf(attachments);
    }

    /** With {@code attachment} in place of the one on the same interface, or appended. */
    CniState with(CniAttachment attachment) {
        List<CniAttachment> all = new ArrayList<>(attachments);
        all.removeIf(a -> a.ifName().equals(attachment.ifName()));
        all.add(attachment);
        return new CniState(all);
    }

    List<String> ipAddresses() {
        return attachments.stream().flatMap(a -> a.ipAddresses().stream()).toList();
    }
}
