package dev.vessel.launcher.vm.domain;

import java.util.OptionalInt;
import javax.xml.stream.XMLStreamException;
import javax.xml.stream.XMLStreamWriter;

/**
 * Slots on a q35 machine's root complex ({@code pcie.0}) for a VM task's virtio devices, one each, as raw
 * QEMU places them: left to itself libvirt puts every device behind a PCIe root port of its own (plus a spare),
 * and each port costs the guest's firmware and kernel time at boot (≈0.1–0.25 s for four under TCG, raw QEMU
 * to init, alternating boots) for hot-plugging that a VM task never does. Slots 0x02–0x1e: 0x00 is the host
 * bridge, 0x01 libvirt's first choice for root ports (passed-through devices keep theirs), 0x1f the ICH9
 * functions. Beyond them, a device gets no address and libvirt places it behind a port.
 */
final class RootComplexSlots {
    private static final int FIRST = 0x02;
    private static final int LAST = 0x1e;
    private int next;

    private RootComplexSlots(int next) {
        this.next = next;
    }

    /** Every slot free. */
    static RootComplexSlots all() {
        return new RootComplexSlots(FIRST);
    }

    /** No slot: libvirt places each device itself (a full VM's, whose devices may be hot-plugged). */
    static RootComplexSlots none() {
        return new RootComplexSlots(LAST + 1);
    }

    /** The next free slot; empty once they are all taken. */
    OptionalInt take() {
        return next <= LAST ? OptionalInt.of(next++) : OptionalInt.empty();
    }

    /** The next free slot as the device's {@code <address>}; nothing once they are all taken. */
    void writeAddress(XMLStreamWriter xml) throws XMLStreamException {
        OptionalInt slot = take();
        if (slot.isEmpty()) {
            return;
        }
        DomainXml.writePciAddress(xml, true, "0000", "00", String.format("%02x", slot.getAsInt()), "0");
    }
}
