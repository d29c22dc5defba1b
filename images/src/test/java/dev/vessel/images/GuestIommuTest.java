package dev.vessel.images;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.vessel.core.agent.GuestPciDevice;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real kernel's IOMMU groups: Vessel's guest kernel booted on q35 with QEMU's emulated Intel IOMMU
 * (interrupt remapping on, so the IOAPIC is QEMU's) and emulated PCI devices on root ports of their own: an
 * {@code ati-vga} (AMD's vendor id, VGA class: a GPU to Vessel's discovery), QEMU's own {@code VGA} (a display
 * of no GPU vendor) and an {@code e1000e} with no driver in the guest. A hook the test adds to the initramfs
 * binds the e1000e to {@code vfio-pci} inside the guest (never on the host) and opens its
 * {@code /dev/vfio/<group>}; then the agent's hello reports every device with its driver and IOMMU group as
 * the guest's kernel made them, read by Vessel's discovery code ({@code core.gpu.GpuDiscovery}).
 */
class GuestIommuTest {
    private static final String E1000E = "8086:10d3";
    private static final String ATI_VGA = "1002:5046";
    private static final String QEMU_VGA = "1234:1111";

    /** Binds the e1000e to vfio-pci by driver_override and opens its group's node. */
    private static final String VFIO_HOOK = """
            #!/bin/sh
            for d in /sys/bus/pci/devices/*; do
              [ "$(cat "$d/vendor"):$(cat "$d/device")" = "0x8086:0x10d3" ] || continue
              a=${d##*/}
              g=$(basename "$(readlink "$d/iommu_group")")
              echo vfio-pci > "$d/driver_override" && echo "$a" > /sys/bus/pci/drivers_probe
              i=0; while [ ! -e "/dev/vfio/$g" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
              if err=$( (exec 3<>"/dev/vfio/$g") 2>&1 ); then
                echo "vfio-probe: $a bound to $(basename "$(readlink "$d/driver")"), opened /dev/vfio/$g"
              else
                echo "vfio-probe: $a cannot open /dev/vfio/$g: $err"
              fi
            done
            """;

    static GuestArtifacts artifacts;

    @TempDir
    Path tmp;

    @BeforeAll
    static void requireArtifactsAndQemu() throws Exception {
        QemuGuest.requireQemu();
        artifacts = GuestArtifacts.load();
    }

    @Test
    void theGuestsKernelGroupsEmulatedDevicesBehindTheEmulatedIommuAndADeviceBoundToVfioPciOpensItsGroup()
            throws Exception {
        Path initrd = new InitrdOverlay(tmp).file("etc/vessel/init.d/vfio-probe", VFIO_HOOK, "rwxr-xr-x")
                .appendTo(artifacts.initrd(), tmp.resolve("initrd.cpio"));
        List<String> devices = List.of(
                "-machine", "kernel-irqchip=split", "-device", "intel-iommu,intremap=on",
                "-device", "pcie-root-port,id=rp1,chassis=1", "-device", "ati-vga,bus=rp1,romfile=",
                "-device", "pcie-root-port,id=rp2,chassis=2", "-device", "e1000e,bus=rp2,romfile=",
                "-device", "pcie-root-port,id=rp3,chassis=3", "-device", "VGA,bus=rp3,romfile=");
        try (QemuGuest guest = QemuGuest.boot(artifacts, initrd, "", tmp, QemuGuest.MEMORY_MIB, devices);
                SocketChannel port = guest.connectAgentPort()) {
            List<GuestPciDevice> seen = guest.awaitHello(port).getPciDevicesList();

            GuestPciDevice nic = only(seen, E1000E);
            GuestPciDevice ati = only(seen, ATI_VGA);
            GuestPciDevice vga = only(seen, QEMU_VGA);
            assertTrue(seen.stream().allMatch(d -> d.getIommuGroup() >= 0), "every device is in a group: " + seen);
            assertEquals(0x030000, ati.getPciClass(), "the ati-vga is a VGA controller");
            assertEquals(0x020000, nic.getPciClass());
            assertEquals("vfio-pci", nic.getDriver(), "the hook bound it inside the guest");
            // each endpoint on its own root port is a group of its own (the ports' ACS isolates them)
            for (GuestPciDevice endpoint : List.of(nic, ati, vga)) {
                assertEquals(List.of(endpoint.getAddress()), seen.stream()
                        .filter(d -> d.getIommuGroup() == endpoint.getIommuGroup()).map(GuestPciDevice::getAddress)
                        .toList(), "the group of " + endpoint.getIds() + ": " + seen);
            }
            assertNotEquals(nic.getIommuGroup(), ati.getIommuGroup());
            String console = guest.console();
            assertTrue(console.contains("vfio-probe: " + nic.getAddress() + " bound to vfio-pci, opened /dev/vfio/"
                    + nic.getIommuGroup()), "the guest could not open the device's VFIO group:\n" + console);
        }
    }

    private static GuestPciDevice only(List<GuestPciDevice> seen, String ids) {
        List<GuestPciDevice> found = seen.stream().filter(d -> d.getIds().equals(ids)).toList();
        assertEquals(1, found.size(), "devices " + ids + " the guest reports: " + seen);
        return found.get(0);
    }
}
