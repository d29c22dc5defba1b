# Shared by the scripts in this folder: finds a JDK >= 25 and installs what the project needs.
# Sourced, not run.

# Debian packages of the real components Vessel runs and tests against (docs/architecture.md).
VESSEL_PACKAGES=(
  # build
  maven gcc make libc6-dev
  # VMs
  qemu-system-x86 qemu-utils libvirt-daemon-system libvirt-clients
  # ext4 disk images for VM tasks' disk tests (mke2fs -d, debugfs)
  e2fsprogs
  # guest kernel, initramfs and software image (erofs)
  linux-source-6.1 flex bison bc libelf-dev libssl-dev cpio xz-utils zstd lz4 busybox-static erofs-utils
  # full VMs: the Debian 12 cloud image the tests boot (images/src/main/cloud: mmdebstrap, sfdisk,
  # extlinux + syslinux's MBR); genisoimage writes a VM's NoCloud seed (isoinfo reads it back in tests)
  mmdebstrap fdisk extlinux syslinux-common genisoimage
  # container baselines, images, networking; catatonit: podman builds its pods' pause image from it
  crun runc podman catatonit containerd containernetworking-plugins iptables docker-registry skopeo umoci iproute2
  # seccomp: libseccomp, which the linux/seccomp isolator loads through FFM (host and guest image)
  libseccomp2
  # benchmarks
  hyperfine
)

die() {
  echo "error: $*" >&2
  exit 1
}

# Sets JAVA_HOME to a JDK of version 25 or newer, or fails saying which JDK is needed and every place it looked
# (JAVA_HOME, then Temurin 25's path, then each JDK under VESSEL_JVM_DIR, by default /usr/lib/jvm). A JDK's
# release file names its version: reading it costs nothing, where asking `java` starts a JVM.
select_jdk() {
  local candidate version looked=() jvm_dir="${VESSEL_JVM_DIR:-/usr/lib/jvm}"
  for candidate in "${JAVA_HOME:-}" "$jvm_dir/temurin-25-jdk-amd64" "$jvm_dir"/*; do
    [ -n "$candidate" ] && [ "$candidate" != "$jvm_dir/*" ] || continue
    if [ ! -x "$candidate/bin/javac" ] || [ ! -r "$candidate/release" ]; then
      [ -e "$candidate" ] && looked+=("$candidate (not a JDK)") || looked+=("$candidate (absent)")
      continue
    fi
    version=$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$candidate/release")
    if [ "${version:-0}" -ge 25 ] 2>/dev/null; then
      export JAVA_HOME="$candidate"
      export PATH="$JAVA_HOME/bin:$PATH"
      return 0
    fi
    looked+=("$candidate (Java ${version:-of unknown version})")
  done
  die "Vessel needs a JDK 25 or newer (Temurin 25 is expected at $jvm_dir/temurin-25-jdk-amd64) and found none;" \
    "set JAVA_HOME to one. Looked at:$(printf '\n  %s' "${looked[@]}")"
}

# Installs the missing packages (apt-get update only when something is missing).
install_packages() {
  local missing=()
  local pkg
  for pkg in "${VESSEL_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    [ "$(id -u)" -eq 0 ] || die "installing packages needs root"
    apt-get update -qq
    # No recommends: they pull in a distribution kernel whose initramfs hook costs minutes.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# Starts libvirt's daemons (there is no init system to do it) and waits for its socket.
start_libvirt() {
  # Without udev, /dev/kvm keeps the kernel's root-only mode instead of Debian's root:kvm 0660;
  # libvirt then finds KVM "gone since its last probe" and re-probes QEMU (~4 s) on every call.
  if [ -c /dev/kvm ]; then
    getent group kvm >/dev/null || groupadd --system kvm
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
  fi
  pgrep -x virtlogd >/dev/null || virtlogd -d
  pgrep -x libvirtd >/dev/null || libvirtd -d
  local i
  for i in $(seq 1 50); do
    [ -S /var/run/libvirt/libvirt-sock ] && return 0
    sleep 0.2
  done
  die "libvirtd did not create /var/run/libvirt/libvirt-sock"
}

setup() {
  select_jdk # first: a missing JDK stops everything before minutes of installing
  install_packages
  start_libvirt
}
