#!/usr/bin/env bash
# vagrant/box/build.sh - the offline lab boxes: Debian 12 with everything the lessons use
# already inside (setup.sh's packages, bpftrace, bcc, kernel headers, the eclat-lab binary for
# the box's architecture, a copy of the repository), so that `vagrant up` reaches nothing on
# the network. One script for both architectures and every provider:
#
#   sudo vagrant/box/build.sh --arch amd64        libvirt, qemu (vagrant-qemu) and virtualbox boxes
#   sudo vagrant/box/build.sh --arch arm64        libvirt and qemu boxes (Apple Silicon: vagrant-qemu)
#
# Options:
#   --arch amd64|arm64    [the host's]
#   --bin FILE            the eclat-lab binary to put in [target/release/eclat-lab for amd64,
#                         target/aarch64-unknown-linux-gnu/release/eclat-lab for arm64]; its
#                         architecture is checked
#   --providers LIST      comma-separated, of libvirt, qemu, virtualbox [all the arch has]
#   --out DIR             where the .box files go [vagrant/boxes]
#   --work DIR            scratch space and the cached root file system [/var/tmp/eclat-lab-box]
#   --version X.Y.Z       box version [workspace major.minor . commit count]
#   --mirror URL          Debian mirror [the host's apt mirror]
#   --fast                qcow2 without compression (CI: a bigger file, a minute less)
#   --rootfs-only         build (or find) the cached root file system and stop
#
# Runs as root on Debian 12 (debootstrap, fdisk, rsync, qemu-utils; for arm64 also
# qemu-user-static, dosfstools and mtools: the arm64 packages are installed by running their
# scripts under QEMU's user-mode emulation, registered with binfmt_misc for the build only).
# The root file system with its packages is cached in --work (keyed by this script and the
# package lists of setup.sh), so a rebuild with a new binary takes a few minutes.
# Each .box gets a .sha256 beside it; vagrant/lab.rb finds them by name:
#   eclat-lab-ARCH-VERSION-PROVIDER.box
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)

host_arch() { case "$(uname -m)" in x86_64) echo amd64 ;; aarch64|arm64) echo arm64 ;; *) uname -m ;; esac; }
ARCH=$(host_arch) BIN= PROVIDERS= OUT=$REPO/vagrant/boxes W=/var/tmp/eclat-lab-box VERSION= FAST=0 ROOTFS_ONLY=0
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) ARCH=$2; shift ;;
    --bin) BIN=$2; shift ;;
    --providers) PROVIDERS=$2; shift ;;
    --out) OUT=$2; shift ;;
    --work) W=$2; shift ;;
    --version) VERSION=$2; shift ;;
    --mirror) MIRROR=$2; shift ;;
    --fast) FAST=1 ;;
    --rootfs-only) ROOTFS_ONLY=1 ;;
    -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

die() { echo "build.sh: $*" >&2; exit 1; }
say() { echo "== $(date -u +%T) $*"; }
[ "$(id -u)" = 0 ] || die "run as root (debootstrap, loop devices, chroot)"
case "$ARCH" in
  amd64) TRIPLE=x86_64-unknown-linux-gnu ELF_MACHINE=62 ALL_PROVIDERS=libvirt,qemu,virtualbox ;;
  arm64) TRIPLE=aarch64-unknown-linux-gnu ELF_MACHINE=183 ALL_PROVIDERS=libvirt,qemu ;;
  *) die "--arch must be amd64 or arm64, not $ARCH" ;;
esac
PROVIDERS=${PROVIDERS:-$ALL_PROVIDERS}
for p in ${PROVIDERS//,/ }; do
  case ",$ALL_PROVIDERS," in *",$p,"*) ;; *) die "no $p box for $ARCH (possible: $ALL_PROVIDERS)" ;; esac
done
if [ "$ROOTFS_ONLY" = 1 ]; then BIN=/bin/true; [ "$ARCH" = "$(host_arch)" ] || BIN=-; fi
if [ -z "$BIN" ]; then
  BIN=$REPO/target/release/eclat-lab
  [ "$ARCH" = "$(host_arch)" ] || BIN=$REPO/target/$TRIPLE/release/eclat-lab
fi
if [ "$BIN" != - ]; then
[ -x "$BIN" ] || die "no eclat-lab binary at $BIN (cargo build --release -p eclat-lab$([ "$ARCH" = "$(host_arch)" ] || echo " --target $TRIPLE"), or --bin FILE)"
m=$(od -An -tu2 -j18 -N2 "$BIN" | tr -d ' ')
[ "$ROOTFS_ONLY" = 1 ] || [ "$m" = "$ELF_MACHINE" ] || die "$BIN is not a $ARCH executable (ELF machine $m, expected $ELF_MACHINE)"
fi
if [ -z "$VERSION" ]; then
  mm=$(sed -n 's/^version = "\([0-9]*\.[0-9]*\)\..*/\1/p' "$REPO/Cargo.toml" | head -1)
  n=$(git -C "$REPO" rev-list --count HEAD 2>/dev/null || echo 0)
  VERSION=$mm.$n
fi
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--version must look like 1.2.3, not $VERSION"

# The packages: setup.sh's lists, read from setup.sh itself so the two never drift apart,
# and the kernel headers of the box's own kernel (setup.sh asks for the running kernel's).
PKGS=$(sed -n 's/^PKGS="\(.*\)"$/\1/p' "$REPO/setup.sh")
TOOLS=$(sed -n 's/^TOOLS="\(.*\)"$/\1/p' "$REPO/setup.sh")
[ -n "$PKGS" ] && [ -n "$TOOLS" ] || die "no PKGS= or TOOLS= line in setup.sh"
BASE=systemd-sysv,udev,dbus,linux-image-$ARCH,initramfs-tools,openssh-server,sudo,iproute2,e2fsprogs,kmod,rsync,less,nano,vim-tiny
case "$ARCH" in
  amd64) BASE=$BASE,grub-pc-bin,grub2-common CONSOLE=ttyS0 ;;
  arm64) BASE=$BASE,grub-efi-arm64-bin,grub2-common CONSOLE=ttyAMA0 ;;
esac
EXTRA="$PKGS $TOOLS linux-headers-$ARCH"

R= MNT=$W/mnt RAW= LOOP= BINFMT_OURS=0 BINFMT_MOUNTED=0
mounted_below() { awk '{print $2}' /proc/mounts | grep -q "^$1\(/\|$\)"; }
unmount_all() { # every mount below $1, deepest first
  local d
  for d in $(awk '{print $2}' /proc/mounts | grep "^$1\(/\|$\)" | sort -r); do umount "$d" 2>/dev/null || umount -l "$d"; done
}
safe_rm() { # remove a work folder only when nothing is mounted below it
  local d
  for d in "$@"; do
    [ -e "$d" ] || continue
    unmount_all "$d"
    mounted_below "$d" && { echo "build.sh: $d still has mounts, not removing it" >&2; return 1; }
    rm -rf "$d"
  done
}
cleanup() {
  set +e
  [ -n "$R" ] && unmount_all "$R"
  unmount_all "$MNT"
  [ -n "$LOOP" ] && losetup -d "$LOOP"
  [ -n "$R" ] && safe_rm "$R"
  safe_rm "$MNT" "$W/boxdir"
  [ -n "$RAW" ] && rm -f "$RAW"
  rm -f "$OUT"/*.tmp
  if [ "$BINFMT_OURS" = 1 ] && [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64; fi
  [ "$BINFMT_MOUNTED" = 1 ] && umount /proc/sys/fs/binfmt_misc
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
mkdir -p "$W" "$OUT"
# one build per work folder at a time: two builds sharing a root file system break each
# other's package scripts (a second debootstrap finds the first one's /boot/grub/grub.cfg and
# its kernel's postinst runs update-grub inside the chroot)
exec 9>"$W/.build.lock"
if ! flock -n 9; then
  echo "build.sh: another build is using $W; waiting for it (up to 30 min)" >&2
  flock -w 1800 9 || die "$W is still in use by another build.sh after 30 min (or use --work DIR)"
fi
T0=$(date +%s)

# arm64 programs in the chroot run under qemu-aarch64 (static, opened once: the F flag)
binfmt_arm64() {
  [ "$ARCH" = "$(host_arch)" ] && return 0
  [ "$ARCH" = arm64 ] || die "building an $ARCH box on a $(host_arch) host is not supported"
  local conf=/usr/lib/binfmt.d/qemu-aarch64.conf
  [ -f "$conf" ] || die "no $conf: apt-get install qemu-user-static"
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc; BINFMT_MOUNTED=1
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
    cat "$conf" > /proc/sys/fs/binfmt_misc/register
    BINFMT_OURS=1
  fi
  grep -q '^flags: .*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || die "binfmt qemu-aarch64 is registered without the F flag: the chroot cannot find the emulator"
}

in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

# ---- 1. the root file system with its packages (cached) --------------------------------
KEY=$( { sed -n '/^# ---- 1\./,/^# ---- 2\./p' "$0"; echo "$ARCH $BASE $EXTRA $MIRROR"; } | sha256sum | cut -c1-12)
ROOTFS_TAR=$W/rootfs-$ARCH-$KEY.tar
binfmt_arm64
if [ -f "$ROOTFS_TAR" ]; then
  say "1. root file system: cached $ROOTFS_TAR"
else
  say "1. root file system: debootstrap bookworm ($ARCH) from $MIRROR"
  rm -f "$W"/rootfs-"$ARCH"-*.tar
  # a root of this run's own, never one an earlier (interrupted) run left behind
  for old in "$W"/rootfs-"$ARCH" "$W"/rootfs-"$ARCH".*; do
    if [ -d "$old" ]; then safe_rm "$old"; fi
  done
  # this run's own (the lock above makes the pid unique in $W); it becomes the box's /
  R=$W/rootfs-$ARCH.$$; mkdir -m 755 "$R"
  s=$(date +%s)
  # a clean environment: nothing of the caller's (TMPDIR, LD_*, locale, a test harness's
  # variables) reaches the package scripts that run inside the new root
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
    debootstrap --arch="$ARCH" --variant=minbase --include="$BASE" bookworm "$R" "$MIRROR" > "$W/debootstrap-$ARCH.log" 2>&1 ||
    { tail -20 "$W/debootstrap-$ARCH.log" >&2
      # the reason a package failed to configure is in debootstrap's own log inside the root
      if [ -f "$R/debootstrap/debootstrap.log" ]; then
        cp "$R/debootstrap/debootstrap.log" "$W/debootstrap-$ARCH-inner.log"
        echo "--- the root's debootstrap.log (last 40 lines; whole: $W/debootstrap-$ARCH-inner.log)" >&2
        tail -40 "$R/debootstrap/debootstrap.log" >&2
      fi
      echo "--- host: $(uname -r); free: $(df -h --output=avail "$W" | tail -1); memory available: $(awk '/MemAvailable/{print int($2/1024)}' /proc/meminfo) MiB" >&2
      die "debootstrap failed (log: $W/debootstrap-$ARCH.log)"; }
  echo "   debootstrap: $(( $(date +%s) - s )) s"
  # no documentation, manual pages or translations in the box: nothing in it reads them
  printf 'path-exclude=/usr/share/doc/*\npath-include=/usr/share/doc/*/copyright\npath-exclude=/usr/share/man/*\npath-exclude=/usr/share/info/*\npath-exclude=/usr/share/locale/*\npath-include=/usr/share/locale/locale.alias\n' \
    > "$R/etc/dpkg/dpkg.cfg.d/01-eclat-nodoc"
  for d in dev proc sys; do mount --bind "/$d" "$R/$d"; done
  cp /etc/resolv.conf "$R/etc/resolv.conf"
  s=$(date +%s)
  echo "   packages: $EXTRA"
  in_root sh -c "apt-get update -qq && apt-get install -y -qq --no-install-recommends $EXTRA" > "$W/packages-$ARCH.log" 2>&1 ||
    { tail -20 "$W/packages-$ARCH.log" >&2; die "installing the packages failed (log: $W/packages-$ARCH.log)"; }
  echo "   packages: $(( $(date +%s) - s )) s"
  in_root apt-get clean
  rm -rf "$R"/usr/share/doc/*/[!c]* "$R"/usr/share/man/* "$R"/var/lib/apt/lists/*_Packages "$R"/var/lib/apt/lists/*_Translation-*
  unmount_all "$R"
  : > "$R/etc/resolv.conf"

  # the vagrant user with Vagrant's well-known insecure key (vagrant up replaces it)
  KEYFILE=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub 2>/dev/null | head -1)
  [ -n "$KEYFILE" ] || die "no vagrant.pub (apt-get install vagrant: it ships Vagrant's insecure public key)"
  echo eclat-lab > "$R/etc/hostname"
  printf '127.0.0.1 localhost\n127.0.1.1 eclat-lab\n' > "$R/etc/hosts"
  in_root useradd -m -s /bin/bash -G sudo vagrant
  install -d -m 700 -o 1000 -g 1000 "$R/home/vagrant/.ssh"
  install -m 600 -o 1000 -g 1000 "$KEYFILE" "$R/home/vagrant/.ssh/authorized_keys"
  echo 'vagrant ALL=(ALL) NOPASSWD:ALL' > "$R/etc/sudoers.d/vagrant"; chmod 440 "$R/etc/sudoers.d/vagrant"
  printf 'UseDNS no\n' > "$R/etc/ssh/sshd_config.d/vagrant.conf"
  mkdir -p "$R/etc/systemd/network"
  printf '[Match]\nName=en* eth*\n[Network]\nDHCP=yes\n' > "$R/etc/systemd/network/50-dhcp.network"
  in_root systemctl -q enable systemd-networkd ssh "serial-getty@$CONSOLE"
  in_root systemctl -q mask systemd-networkd-wait-online.service apt-daily.timer apt-daily-upgrade.timer
  echo 'LABEL=eclatroot / ext4 defaults,errors=remount-ro 0 1' > "$R/etc/fstab"
  # sshd host keys are made at first boot (each VM its own), not shipped in the box
  rm -f "$R"/etc/ssh/ssh_host_*
  mkdir -p "$R/etc/systemd/system/ssh.service.d"
  printf '[Service]\nExecStartPre=\nExecStartPre=/usr/bin/ssh-keygen -A\nExecStartPre=/usr/sbin/sshd -t\n' > "$R/etc/systemd/system/ssh.service.d/hostkeys.conf"
  : > "$R/etc/machine-id"

  tar -C "$R" --numeric-owner --xattrs -cf "$ROOTFS_TAR.tmp" . && mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  safe_rm "$R"; R=
fi

[ "$ROOTFS_ONLY" = 1 ] && { say "root file system ready: $ROOTFS_TAR"; exit 0; }

# ---- 2. the lab: binary, repository, version stamp ---------------------------------------
say "2. eclat-lab $(basename "$BIN") and the repository"
R=$W/root-$ARCH; safe_rm "$R"; mkdir -p "$R"
tar -C "$R" --numeric-owner --xattrs -xf "$ROOTFS_TAR"
# every VM its own machine id, made at first boot: an empty /etc/machine-id, and D-Bus's
# copy (written when the packages were installed) pointing at it. With a copy of its own,
# every VM of the box took the same id, so the same DHCP client id: on libvirt's network two
# VMs of one Vagrantfile (vagrant/classroom, vagrant/multi) got the same address.
: > "$R/etc/machine-id"
ln -sfn /etc/machine-id "$R/var/lib/dbus/machine-id"
install -m 0755 "$BIN" "$R/usr/local/bin/eclat-lab"
# without its debug information (a release build keeps it: ~50 MB of the binary)
STRIP=strip; [ "$ARCH" = "$(host_arch)" ] || STRIP=aarch64-linux-gnu-strip
if command -v "$STRIP" >/dev/null; then "$STRIP" --strip-debug "$R/usr/local/bin/eclat-lab"; else echo "   ($STRIP not found: the binary keeps its debug information)"; fi
G=$R/home/vagrant/eclat-lab-src; mkdir -p "$G"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
  # the tracked files as they are in the work tree
  git -C "$REPO" ls-files -z | (cd "$REPO" && tar --null -T - -cf -) | tar -C "$G" -xf -
  COMMIT=$(git -C "$REPO" rev-parse --short=12 HEAD)$(git -C "$REPO" diff --quiet HEAD -- 2>/dev/null || echo +changes)
else
  rsync -a --exclude target/ --exclude .vagrant/ --exclude book/book/ --exclude 'vagrant/boxes/' "$REPO/" "$G/"
  COMMIT=unknown
fi
chown -R 1000:1000 "$G"
KVER=$(ls "$R"/lib/modules | sort -V | tail -1)
cat > "$R/etc/eclat-lab-box" <<EOF
version=$VERSION
arch=$ARCH
commit=$COMMIT
kernel=$KVER
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
EOF
cat > "$R/etc/motd" <<EOF

eclat-lab box $VERSION ($ARCH, kernel $KVER): everything the lessons use is installed.
  sudo eclat-lab doctor      check the machine
  sudo eclat-lab             the tutorial
  ~/eclat-lab-src            the repository (lessons, solutions, modules, the book's sources)
  ~/eclat-lab                your copies of the exercises (made by the tutorial)

EOF

# ---- 3. the disk: one ext4 root (amd64: MBR + grub for BIOS; arm64: GPT + EFI grub) ------
say "3. disk image"
RAW=$W/disk-$ARCH.raw; rm -f "$RAW"
[ -e "$RAW" ] && losetup -j "$RAW" | cut -d: -f1 | xargs -r -n1 losetup -d
truncate -s 16G "$RAW"
CMDLINE="console=$CONSOLE,115200 net.ifnames=0 quiet"
case "$ARCH" in
  amd64) echo 'start=1MiB, type=83, bootable' | sfdisk -q "$RAW"; ROOTP=p1 ;;
  arm64) printf 'label: gpt\nstart=1MiB, size=63MiB, type=U, name=esp\nstart=64MiB, type=L, name=root\n' | sfdisk -q "$RAW"; ROOTP=p2 ;;
esac
LOOP=$(losetup -f --show -P "$RAW")
[ -b "$LOOP$ROOTP" ] || partx -a "$LOOP"          # no udev on the host: add the partition nodes
mkfs.ext4 -q -L eclatroot "$LOOP$ROOTP"
mkdir -p "$MNT"; mount "$LOOP$ROOTP" "$MNT"
rsync -aHAX "$R/" "$MNT/"
safe_rm "$R"; R=
cat > "$MNT/etc/default/grub" <<EOF
GRUB_DEFAULT=0
GRUB_TIMEOUT=0
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="$CMDLINE"
GRUB_TERMINAL="$([ "$ARCH" = amd64 ] && echo "console serial" || echo console)"
GRUB_SERIAL_COMMAND="serial --speed=115200"
EOF
# a grub.cfg of our own: grub-mkconfig cannot see the loop device's label without udev
grubcfg() {
  # (grub's EFI build on arm64 has no `serial`: its console is the firmware's, on the serial port)
  [ "$ARCH" = amd64 ] && printf 'serial --speed=115200\nterminal_input console serial\nterminal_output console serial\n'
  cat <<EOF
set default=0
set timeout=0
search --no-floppy --label eclatroot --set=root
menuentry 'Debian GNU/Linux (eclat-lab box)' {
  linux /boot/vmlinuz-$KVER root=LABEL=eclatroot ro $CMDLINE
  initrd /boot/initrd.img-$KVER
}
EOF
}
mkdir -p "$MNT/boot/grub"; grubcfg > "$MNT/boot/grub/grub.cfg"
for d in dev proc sys; do mount --bind "/$d" "$MNT/$d"; done
case "$ARCH" in
  amd64)
    chroot "$MNT" grub-install -s --target=i386-pc "$LOOP" 2>&1 | grep -v '^Installing' || true
    grubcfg > "$MNT/boot/grub/grub.cfg"   # grub-install leaves it alone, but be sure
    ;;
  arm64)
    # the EFI loader: grub with an early config that finds the root by label, as the
    # removable-media path EFI/BOOT/BOOTAA64.EFI (no NVRAM boot entry needed)
    cp -r "$MNT/usr/lib/grub/arm64-efi" "$MNT/boot/grub/"
    printf 'search --no-floppy --label eclatroot --set=root\nset prefix=($root)/boot/grub\nconfigfile $prefix/grub.cfg\n' > "$MNT/tmp/early.cfg"
    chroot "$MNT" grub-mkimage -O arm64-efi -o /tmp/BOOTAA64.EFI -c /tmp/early.cfg -p /boot/grub \
      part_gpt ext2 search search_label configfile normal linux gzio echo serial efi_gop terminal
    mkfs.vfat -F 32 -n ESP "${LOOP}p1" >/dev/null
    export MTOOLS_SKIP_CHECK=1
    mmd -i "${LOOP}p1" ::/EFI ::/EFI/BOOT
    mcopy -i "${LOOP}p1" "$MNT/tmp/BOOTAA64.EFI" ::/EFI/BOOT/BOOTAA64.EFI
    rm -f "$MNT/tmp/early.cfg" "$MNT/tmp/BOOTAA64.EFI"
    ;;
esac
grep -q 'root=LABEL=eclatroot' "$MNT/boot/grub/grub.cfg" || die "grub.cfg has no root=LABEL"
[ -f "$MNT/boot/vmlinuz-$KVER" ] && [ -f "$MNT/boot/initrd.img-$KVER" ] || die "no kernel or initrd $KVER in /boot"
USED_MB=$(df -m --output=used "$MNT" | tail -1 | tr -d ' ')
unmount_all "$MNT"; losetup -d "$LOOP"; LOOP=

# ---- 4. the boxes -------------------------------------------------------------------------
say "4. boxes ($PROVIDERS)"
B=$W/boxdir; safe_rm "$B"; mkdir -p "$B"
s=$(date +%s)
if [ "$FAST" = 1 ]; then qemu-img convert -O qcow2 "$RAW" "$B/box.img"; else qemu-img convert -c -O qcow2 "$RAW" "$B/box.img"; fi
echo "   qcow2: $(( $(date +%s) - s )) s"

# each provider's defaults for this box's architecture, in the box's own Vagrantfile, so that
# the box also works from a Vagrantfile that knows nothing about it
box_vagrantfile() { # PROVIDER
  echo '# eclat-lab box: no synced folder by default (the box carries the repository)'
  echo 'Vagrant.configure("2") do |c|'
  echo '  c.vm.synced_folder ".", "/vagrant", disabled: true'
  echo '  c.vm.boot_timeout = 900'
  case "$1/$ARCH" in
    libvirt/amd64) echo '  c.vm.provider :libvirt do |l|'; echo '    l.disk_bus = "virtio"'; echo '  end' ;;
    libvirt/arm64)
      cat <<'EOF'
  c.vm.provider :libvirt do |l|
    l.disk_bus = "virtio"
    l.machine_arch = "aarch64"
    l.machine_type = "virt"
    l.features = ["acpi"]
    l.inputs = []
    l.loader = ["/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw",
                "/usr/share/qemu/edk2-aarch64-code.fd"].find { |f| File.exist?(f) }
    # a pflash loader needs a writable variable store (libvirt copies the template there)
    l.nvram = "/var/lib/libvirt/qemu/nvram/eclat-lab-#{File.basename(Dir.pwd)}_VARS.fd"
  end
EOF
      ;;
    qemu/amd64)
      echo '  c.vm.provider :qemu do |q|'
      echo '    q.arch = "x86_64"'
      echo '    q.machine = RUBY_PLATFORM.include?("darwin") ? "q35,accel=hvf" : "q35"'
      echo '    q.cpu = "max"'
      echo '    q.net_device = "virtio-net-pci"'
      echo '  end' ;;
    qemu/arm64)
      echo '  c.vm.provider :qemu do |q|'
      echo '    q.arch = "aarch64"'
      echo '    q.machine = "virt,accel=hvf,highmem=on"'
      echo '    q.cpu = "host"'
      echo '    q.net_device = "virtio-net-pci"'
      echo '  end' ;;
    virtualbox/amd64) echo '  c.vm.provider :virtualbox do |v|'; echo '    v.check_guest_additions = false'; echo '  end' ;;
  esac
  echo 'end'
}

# VirtualBox's OVF: one SATA disk, one NAT NIC, BIOS boot (the same MBR/grub disk)
ovf() { # DISK_FILE DISK_BYTES
  cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<Envelope ovf:version="1.0" xml:lang="en-US" xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1" xmlns:rasd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData" xmlns:vssd="http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData" xmlns:vbox="http://www.virtualbox.org/ovf/machine">
  <References>
    <File ovf:id="file1" ovf:href="$1"/>
  </References>
  <DiskSection>
    <Info>Virtual disks</Info>
    <Disk ovf:capacity="$2" ovf:diskId="vmdisk1" ovf:fileRef="file1" ovf:format="http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized"/>
  </DiskSection>
  <NetworkSection>
    <Info>Logical networks</Info>
    <Network ovf:name="NAT">
      <Description>NAT network</Description>
    </Network>
  </NetworkSection>
  <VirtualSystem ovf:id="eclat-lab">
    <Info>eclat-lab box $VERSION</Info>
    <OperatingSystemSection ovf:id="96">
      <Info>The guest operating system</Info>
      <Description>Debian_64</Description>
      <vbox:OSType ovf:required="false">Debian_64</vbox:OSType>
    </OperatingSystemSection>
    <VirtualHardwareSection>
      <Info>Virtual hardware</Info>
      <System>
        <vssd:ElementName>Virtual Hardware Family</vssd:ElementName>
        <vssd:InstanceID>0</vssd:InstanceID>
        <vssd:VirtualSystemIdentifier>eclat-lab</vssd:VirtualSystemIdentifier>
        <vssd:VirtualSystemType>virtualbox-2.2</vssd:VirtualSystemType>
      </System>
      <Item>
        <rasd:Caption>2 virtual CPU</rasd:Caption>
        <rasd:ElementName>2 virtual CPU</rasd:ElementName>
        <rasd:InstanceID>1</rasd:InstanceID>
        <rasd:ResourceType>3</rasd:ResourceType>
        <rasd:VirtualQuantity>2</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:AllocationUnits>MegaBytes</rasd:AllocationUnits>
        <rasd:Caption>1536 MB of memory</rasd:Caption>
        <rasd:ElementName>1536 MB of memory</rasd:ElementName>
        <rasd:InstanceID>2</rasd:InstanceID>
        <rasd:ResourceType>4</rasd:ResourceType>
        <rasd:VirtualQuantity>1536</rasd:VirtualQuantity>
      </Item>
      <Item>
        <rasd:Address>0</rasd:Address>
        <rasd:Caption>sataController0</rasd:Caption>
        <rasd:ElementName>sataController0</rasd:ElementName>
        <rasd:InstanceID>3</rasd:InstanceID>
        <rasd:ResourceSubType>AHCI</rasd:ResourceSubType>
        <rasd:ResourceType>20</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AutomaticAllocation>true</rasd:AutomaticAllocation>
        <rasd:Caption>Ethernet adapter on 'NAT'</rasd:Caption>
        <rasd:Connection>NAT</rasd:Connection>
        <rasd:ElementName>Ethernet adapter on 'NAT'</rasd:ElementName>
        <rasd:InstanceID>4</rasd:InstanceID>
        <rasd:ResourceSubType>E1000</rasd:ResourceSubType>
        <rasd:ResourceType>10</rasd:ResourceType>
      </Item>
      <Item>
        <rasd:AddressOnParent>0</rasd:AddressOnParent>
        <rasd:Caption>disk1</rasd:Caption>
        <rasd:ElementName>disk1</rasd:ElementName>
        <rasd:HostResource>/disk/vmdisk1</rasd:HostResource>
        <rasd:InstanceID>5</rasd:InstanceID>
        <rasd:Parent>3</rasd:Parent>
        <rasd:ResourceType>17</rasd:ResourceType>
      </Item>
    </VirtualHardwareSection>
  </VirtualSystem>
</Envelope>
EOF
}

VSIZE=$(( $(stat -c %s "$RAW") / 1024 / 1024 / 1024 ))
for p in ${PROVIDERS//,/ }; do
  name=eclat-lab-$ARCH-$VERSION-$p.box
  d=$B/$p; mkdir -p "$d"
  box_vagrantfile "$p" > "$d/Vagrantfile"
  case "$p" in
    libvirt|qemu)
      ln "$B/box.img" "$d/box.img"
      printf '{"provider":"%s","format":"qcow2","virtual_size":%d,"architecture":"%s"}\n' "$p" "$VSIZE" "$ARCH" > "$d/metadata.json"
      files="metadata.json Vagrantfile box.img" ;;
    virtualbox)
      s=$(date +%s)
      qemu-img convert -O vmdk -o subformat=streamOptimized "$RAW" "$d/box-disk001.vmdk"
      echo "   vmdk: $(( $(date +%s) - s )) s"
      ovf box-disk001.vmdk "$(stat -c %s "$RAW")" > "$d/box.ovf"
      printf '{"provider":"virtualbox","architecture":"%s"}\n' "$ARCH" > "$d/metadata.json"
      files="metadata.json Vagrantfile box.ovf box-disk001.vmdk" ;;
  esac
  # the .box is a plain tar (the images are compressed already)
  tar -C "$d" -cf "$OUT/$name.tmp" $files
  mv "$OUT/$name.tmp" "$OUT/$name"
  (cd "$OUT" && sha256sum "$name" > "$name.sha256")
  echo "   $OUT/$name: $(du -m "$OUT/$name" | cut -f1) MiB"
done
rm -f "$RAW"; RAW=
echo "   root file system: $USED_MB MiB used; kernel $KVER; version $VERSION; commit $COMMIT"
say "done in $(( $(date +%s) - T0 )) s"
