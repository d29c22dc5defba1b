package dev.vessel.core.gpu;

import java.util.Optional;

/**
 * One PCI function as sysfs shows it.
 *
 * @param pciClass the 24-bit class code (base class, subclass, programming interface): 0x030200 a 3D
 *                 controller, 0x040300 an audio device, 0x060400 a PCI bridge
 * @param driver   the driver bound now ({@code nvidia}, {@code vfio-pci}…); empty when none is
 * @param mmio64Bytes the total size of its 64-bit memory BARs (an H100's 128 GiB BAR1 among them): what a
 *                 VM given it must fit in its 64-bit MMIO window
 */
public record PciDevice(PciAddress address, int pciClass, int vendor, int device, Optional<String> driver,
        long mmio64Bytes) {
    /** Base class 0x03, subclass 0x00 (VGA) or 0x02 (3D controller). */
    public boolean isDisplayController() {
        int classAndSubclass = pciClass >> 8;
        return classAndSubclass == 0x0300 || classAndSubclass == 0x0302;
    }

    /**
     * A bridge (base class 0x06) other than a host bridge cannot be handed to a guest: VFIO refuses a
     * group holding one, as its other side's devices would go with it.
     */
    public boolean isBridge() {
        return pciClass >> 16 == 0x06 && pciClass >> 8 != 0x0600;
    }

    /** {@code 10de:2330}, as lspci -n writes it. */
    public String ids() {
        return String.format("%04x:%04x", vendor, device);
    }
}
