#!/usr/bin/env bash
# tests/vagrant/qemu-box.sh - boot a lab box made for the qemu provider (vagrant-qemu, the Apple
# Silicon path) the way that plugin starts it: qemu-system-ARCH with the virt (arm64) or q35
# (amd64) machine, 2 CPUs, a qcow2 overlay on the box's image, UEFI firmware in two pflash
# drives (arm64), virtio-net-pci on QEMU's user network with ssh forwarded from the host, then
# ssh in with Vagrant's insecure key as `vagrant ssh` would and check the lab: doctor all green,
# nothing installed since the box was built, lesson 1's flow with exact counts, lesson 1's
# checks. QEMU's software emulation stands in for the Mac's hvf (the plugin's `accel=hvf`).
# The user network is restricted (the guest reaches nothing) and everything runs inside a
# network namespace of its own; the VM and its files are removed at the end.
# Given the amd64 VirtualBox box, it boots its disk (the VMDK, unchanged) on the hardware that
# box's OVF describes, an AHCI disk and an Intel e1000 NIC with BIOS: the guest side of the
# VirtualBox box, without VirtualBox itself (not packaged for these machines).
#
#   sudo tests/vagrant/qemu-box.sh path/to/eclat-lab-arm64-VERSION-qemu.box [WORKDIR]
#   sudo tests/vagrant/qemu-box.sh path/to/eclat-lab-amd64-VERSION-virtualbox.box [WORKDIR]
set -euo pipefail
BOX=$(realpath "$1")
W=${2:-/tmp/eclat-qemu-box-$$}
NS=eclat-qemu-box-$$
PORT=50022
[ "$(id -u)" = 0 ] || { echo "run as root (network namespace)" >&2; exit 1; }
case "$BOX" in
  *-arm64-*) ARCH=arm64 QEMU=qemu-system-aarch64 ;;
  *-amd64-*) ARCH=amd64 QEMU=qemu-system-x86_64 ;;
  *) echo "qemu-box.sh: the box name must say amd64 or arm64: $BOX" >&2; exit 2 ;;
esac
KEY=$(ls /usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant | head -1)
mkdir -p "$W"; chmod 700 "$W"
T0=$(date +%s)
QPID=
cleanup() {
  set +e
  [ -n "$QPID" ] && kill "$QPID" 2>/dev/null && wait "$QPID" 2>/dev/null
  ip netns del "$NS" 2>/dev/null
  rm -rf "$W/box" "$W/overlay.qcow2" "$W/vars.fd" "$W/key"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

echo "== unpack $(basename "$BOX") ($(du -m "$BOX" | cut -f1) MiB)"
mkdir -p "$W/box"; tar -C "$W/box" -xf "$BOX"
if grep -q '"provider":"qemu"' "$W/box/metadata.json"; then
  HW=qemu
  # vagrant-qemu's import: a linked clone of box.img
  qemu-img create -q -f qcow2 -F qcow2 -b "$W/box/box.img" "$W/overlay.qcow2"
elif grep -q '"provider":"virtualbox"' "$W/box/metadata.json" && [ "$ARCH" = amd64 ]; then
  HW=virtualbox
  qemu-img create -q -f qcow2 -F vmdk -b "$W/box/box-disk001.vmdk" "$W/overlay.qcow2"
else
  echo "neither a qemu box nor the amd64 VirtualBox box: $(cat "$W/box/metadata.json")" >&2; exit 1
fi
install -m 600 "$KEY" "$W/key"

ip netns add "$NS"; ip -n "$NS" link set lo up
NET="user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:22"
if [ "$HW" = virtualbox ]; then
  # the OVF's hardware: the disk on the chipset's AHCI controller, an e1000 NIC, BIOS
  ARGS=(-smp 2 -m 1536 -device e1000,netdev=net0 -netdev "$NET"
    -drive "if=none,id=disk0,format=qcow2,file=$W/overlay.qcow2" -device ide-hd,drive=disk0,bus=ide.0)
else
  ARGS=(-smp 2 -m 1536 -device virtio-net-pci,netdev=net0 -netdev "$NET"
    -drive "if=virtio,id=disk0,format=qcow2,file=$W/overlay.qcow2")
fi
ARGS+=(-serial "file:$W/serial.log" -parallel null -monitor none -display none -vga none)
if [ "$ARCH" = arm64 ]; then
  cp /usr/share/AAVMF/AAVMF_VARS.fd "$W/vars.fd"
  ARGS=(-machine virt -cpu max "${ARGS[@]}"
    -drive if=pflash,format=raw,file=/usr/share/AAVMF/AAVMF_CODE.fd,readonly=on
    -drive "if=pflash,format=raw,file=$W/vars.fd")
else
  # (-cpu max hangs a stock Debian kernel under TCG here before its first message: qemu64 boots)
  ARGS=(-machine q35 -cpu qemu64 "${ARGS[@]}")
fi
echo "== boot: $QEMU ${ARGS[*]}"
ip netns exec "$NS" "$QEMU" "${ARGS[@]}" &
QPID=$!

SSH=(ip netns exec "$NS" ssh -q -p "$PORT" -i "$W/key" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
     -o ConnectTimeout=5 -o IdentitiesOnly=yes vagrant@127.0.0.1)
for _ in $(seq 180); do
  kill -0 "$QPID" 2>/dev/null || { echo "QEMU exited"; tail -20 "$W/serial.log"; exit 1; }
  "${SSH[@]}" true 2>/dev/null && break
  sleep 5
done
"${SSH[@]}" true || { echo "no ssh after 15 minutes"; tail -30 "$W/serial.log"; exit 1; }
BOOT=$(( $(date +%s) - T0 ))
echo "== ssh answered ${BOOT} s after the start (unpacking included)"

"${SSH[@]}" 'set -e
cat /etc/eclat-lab-box; uname -m; uname -r
sudo eclat-lab doctor
n=$(sudo find /var/log/apt /var/lib/dpkg/status -newer /etc/eclat-lab-box | wc -l); echo "apt or dpkg files changed since the box was built: $n"; [ "$n" = 0 ]
sudo eclat-lab reset >/dev/null
sudo eclat-lab topo up >/dev/null
sudo eclat-lab xdp attach xdp_counter sut enp6s0f0
sudo eclat-lab traffic --from tg --to fc01::2 --udp 5000 --count 100
total=$(sudo eclat-lab map dump pkt_count --json | python3 -c "import json,sys; print(sum(r[\"value\"] for r in json.load(sys.stdin)[\"rows\"]))")
echo "pkt_count after 100 packets: $total"; [ "$total" = 100 ]
sudo eclat-lab reset >/dev/null
if sudo eclat-lab lesson check 1 >/tmp/starter.txt 2>&1; then echo "the starter passed its checks"; exit 1; fi
f=$(find ~/eclat-lab/01-hello-xdp -name "*.bpf.c" | head -1)
cp ~/eclat-lab-src/lessons/01-hello-xdp/solution/$(basename "$f") "$f"
sudo eclat-lab lesson check 1
echo "lesson 1 checks: the starter fails, the solution passes"'
echo "== qemu-box: PASS ($ARCH $HW box, $(( $(date +%s) - T0 )) s in all; ssh after ${BOOT} s)"
