package dev.vessel.launcher.vm.domain;

/** Which of a domain's devices the guest mounts as its task's root, by its tag, and as which filesystem. */
public enum GuestRootfs {
    /** The domain's rootfs share (9p): an image's view in QEMU's mapped model, or a {@code host_rootfs} as it is. */
    SHARE(DomainXml.ROOTFS_TAG, false),
    /** A warm guest's or a VM pod's share exported a second time, passed through: what a {@code host_rootfs} needs. */
    PASSTHROUGH_SHARE(DomainXml.PASSTHROUGH_ROOTFS_TAG, false),
    /** The rootfs served with its owners by the task's file server (virtio-fs, {@code vm.keep_rootfs_owners}). */
    FILE_SERVER(DomainXml.VIRTIOFS_ROOTFS_TAG, true);

    private final String tag;
    private final boolean virtiofs;

    GuestRootfs(String tag, boolean virtiofs) {
        this.tag = tag;
        this.virtiofs = virtiofs;
    }

    /** The mount tag the guest finds the device by. */
    public String tag() {
        return tag;
    }

    /** Whether it is a virtio-fs device (else a 9p share). */
    public boolean virtiofs() {
        return virtiofs;
    }

    /** Of a domain that exports its share twice (a warm guest, a pod): the export a rootfs mapped or not needs. */
    public static GuestRootfs ofShared(boolean mapped) {
        return mapped ? SHARE : PASSTHROUGH_SHARE;
    }
}
