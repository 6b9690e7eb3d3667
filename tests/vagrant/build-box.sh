#!/usr/bin/env bash
# build-box.sh - build a small Debian 12 (kernel 6.1) box for vagrant-libvirt without Vagrant
# Cloud: debootstrap, the packages setup.sh wants preinstalled (the guest has no network), a
# vagrant user with Vagrant's insecure key, an MBR disk with grub, qcow2, .box.
#   build-box.sh OUT.box WORKDIR MIRROR
# Runs as root on Debian 12. Needs debootstrap, fdisk, rsync, qemu-utils, grub (in the chroot).
set -euo pipefail
OUT=$1 W=$2 MIRROR=$3
REPO=$(cd "$(dirname "$0")/../.." && pwd)
R=$W/rootfs MNT=$W/mnt RAW=$W/disk.raw
LOOP=

# remove a work folder only when nothing is mounted below it (a bind-mounted /dev would go too)
safe_rm() {
  local d
  for d in "$@"; do
    [ -e "$d" ] || continue
    awk '{print $2}' /proc/mounts | grep -q "^$d\(/\|$\)" && umount -R "$d" 2>/dev/null
    for sub in dev proc sys; do umount -R "$d/$sub" 2>/dev/null; done
    if awk '{print $2}' /proc/mounts | grep -q "^$d\(/\|$\)"; then
      echo "build-box.sh: $d still has mounts, not removing it" >&2; return 1
    fi
    rm -rf "$d"
  done
}
cleanup() {
  set +e
  [ -n "$LOOP" ] && { umount -R "$MNT" 2>/dev/null; losetup -d "$LOOP"; }
  safe_rm "$MNT" "$R" "$W/boxdir"; rm -f "$RAW" "$OUT.tmp"
}
trap cleanup EXIT
# a killed earlier build may have left its disk attached to a loop device
[ -e "$RAW" ] && losetup -j "$RAW" | cut -d: -f1 | xargs -r -n1 losetup -d
safe_rm "$MNT" "$R" "$W/boxdir"; rm -f "$RAW"; mkdir -p "$W"

# the packages setup.sh checks for, read from setup.sh itself so the two never drift apart
PKGS=$(sed -n 's/^PKGS="\(.*\)"$/\1/p' "$REPO/setup.sh")
[ -n "$PKGS" ] || { echo "build-box.sh: no PKGS= line in setup.sh" >&2; exit 1; }

echo "   debootstrap bookworm from $MIRROR"
debootstrap --variant=minbase \
  --include=systemd-sysv,udev,dbus,linux-image-amd64,initramfs-tools,openssh-server,sudo,iproute2,grub-pc-bin,grub2-common,e2fsprogs,kmod,rsync \
  bookworm "$R" "$MIRROR" > "$W/debootstrap.log" 2>&1 ||
  { tail -20 "$W/debootstrap.log" >&2; exit 1; }

echo "   lab packages in the image: $PKGS"
for d in dev proc sys; do mount --bind "/$d" "$R/$d"; done
cp /etc/resolv.conf "$R/etc/resolv.conf"
chroot "$R" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PKGS" \
  > "$W/packages.log" 2>&1 || { tail -20 "$W/packages.log" >&2; exit 1; }
chroot "$R" apt-get clean
rm -f "$R"/var/lib/apt/lists/*_Packages "$R"/var/lib/apt/lists/*_Translation-*
umount "$R/dev" "$R/proc" "$R/sys"
: > "$R/etc/resolv.conf"

# the vagrant user and Vagrant's well-known insecure key (replaced by vagrant up)
KEY=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub | head -1)
echo eclat-box > "$R/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 eclat-box\n' > "$R/etc/hosts"
echo 'LABEL=eclatroot / ext4 defaults,errors=remount-ro 0 1' > "$R/etc/fstab"
chroot "$R" useradd -m -s /bin/bash -G sudo vagrant
install -d -m 700 -o 1000 -g 1000 "$R/home/vagrant/.ssh"
install -m 600 -o 1000 -g 1000 "$KEY" "$R/home/vagrant/.ssh/authorized_keys"
echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > "$R/etc/sudoers.d/vagrant"; chmod 440 "$R/etc/sudoers.d/vagrant"
echo 'UseDNS no' > "$R/etc/ssh/sshd_config.d/vagrant.conf"
mkdir -p "$R/etc/systemd/network"
printf '[Match]\nName=en* eth*\n[Network]\nDHCP=yes\n' > "$R/etc/systemd/network/50-dhcp.network"
chroot "$R" systemctl -q enable systemd-networkd ssh serial-getty@ttyS0
chroot "$R" systemctl -q mask systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer
cat > "$R/etc/default/grub" <<'G'
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200 net.ifnames=0"
GRUB_TERMINAL="console serial"
GRUB_SERIAL_COMMAND="serial --speed=115200"
G

echo "   disk image"
truncate -s 8G "$RAW"
echo 'start=1MiB, type=83, bootable' | sfdisk -q "$RAW"
LOOP=$(losetup -f --show -P "$RAW")
[ -b "${LOOP}p1" ] || partx -a "$LOOP"          # no udev on the host: add the partition node
mkfs.ext4 -q -L eclatroot "${LOOP}p1"
mkdir -p "$MNT"; mount "${LOOP}p1" "$MNT"
rsync -aHAX "$R/" "$MNT/"
for d in dev proc sys; do mount --bind "/$d" "$MNT/$d"; done
chroot "$MNT" grub-install -s --target=i386-pc "$LOOP" 2>&1 | grep -v '^Installing' || true
chroot "$MNT" grub-mkconfig -o /boot/grub/grub.cfg 2>/dev/null
# no udev on the host means no UUID in grub.cfg: boot by label
sed -i "s#root=${LOOP}p1#root=LABEL=eclatroot#g" "$MNT/boot/grub/grub.cfg"
grep -q 'root=LABEL=eclatroot' "$MNT/boot/grub/grub.cfg" || { echo "build-box.sh: grub.cfg has no root=LABEL" >&2; exit 1; }
umount -R "$MNT"; losetup -d "$LOOP"; LOOP=

echo "   qcow2 and box"
mkdir -p "$W/boxdir"
qemu-img convert -c -O qcow2 "$RAW" "$W/boxdir/box.img"; rm -f "$RAW"
echo '{"provider":"libvirt","format":"qcow2","virtual_size":8}' > "$W/boxdir/metadata.json"
printf 'Vagrant.configure("2") do |c|\n  c.vm.provider :libvirt do |l|\n    l.disk_bus = "virtio"\n  end\nend\n' > "$W/boxdir/Vagrantfile"
tar -C "$W/boxdir" -cf "$OUT.tmp" metadata.json Vagrantfile box.img
mv "$OUT.tmp" "$OUT"
echo "   box: $(du -m "$OUT" | cut -f1) MiB"
