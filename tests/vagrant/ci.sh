#!/usr/bin/env bash
# tests/vagrant/ci.sh - the real `vagrant up` test of vagrant/Vagrantfile with the offline lab box,
# run by .ci/run.
#
# Hosts like CI's have no Vagrant Cloud and no usable KVM, so: build the lab box with
# vagrant/box/build.sh (its root file system cached; the eclat-lab binary built here for the
# box's architecture), run libvirt with QEMU software emulation inside a private network
# namespace that has no way out, `vagrant up` the project's own Vagrantfile with the box found
# in ECLAT_BOX_DIR (the path an attendee takes: nothing is installed at provision time), then
# inside the guest: `eclat-lab doctor` all green, nothing fetched by apt, rustup or cargo,
# lesson 1's flow with exact counts and lesson 1's checks; on amd64 also lesson 8's chain
# compiled and linked into one program, and every lesson's checks. Everything is destroyed at
# the end, even on failure. Timings are printed and kept in $W/last-run-ARCH.txt.
#
#   sudo tests/vagrant/ci.sh            (root; Debian 12 host; no systemd needed)
#   ECLAT_VAGRANT_ARCH=arm64 ...        the arm64 box under QEMU's aarch64 emulation (UEFI)
#   ECLAT_VAGRANT_BOXES=DIR  test the libvirt lab box already in DIR (e.g. vagrant/boxes, as an
#                            instructor built them) instead of building the binary and a box
#   ECLAT_VAGRANT_WORK=DIR   work folder and box cache [/var/tmp/eclat-lab-vagrant]
#   ECLAT_VAGRANT_KEEP=1     leave the VM and the daemons up for debugging
#   ECLAT_VAGRANT_CI=0       skip the test (prints why)
#   ECLAT_VAGRANT_CLASSROOM=N  then a classroom of N VMs made and removed by the lab's own
#                            command, `eclat-lab classroom up N --vms` (vagrant/classroom/
#                            Vagrantfile, one VM at a time), with lesson 8's policy loaded and
#                            the tutorial on lesson 8: in each VM doctor, the loaded chain, a
#                            flood counted exactly, the learner's account and login files, SSH
#                            with the learner's password on the VM's own port, and that login on
#                            a terminal (ssh -tt in a tmux pane of 120x40) opening the tutorial
#                            on lesson 8, `q` leaving it for the learner's shell; `classroom down
#                            --vms`; both commands timed whole [0: not run] (amd64 only)
#   ECLAT_VAGRANT_CLASSROOM_ONLY=1  skip the one-VM part (steps 6-8) and run the classroom alone
#   ECLAT_VAGRANT_HOST_BIN=FILE  the eclat-lab that runs `classroom up --vms` on the host
#                            [the binary step 2 built; needed with ECLAT_VAGRANT_BOXES]
#   CARGO_TARGET_DIR=DIR     where step 2's cargo build puts the binary [the repository's target/]
set -euo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
W=${ECLAT_VAGRANT_WORK:-/var/tmp/eclat-lab-vagrant}   # not under /root: QEMU runs as libvirt-qemu
NS=eclat-vagrant-ci                                    # network namespace of libvirt and the VM
POOL=eclat-vagrant-ci                                  # libvirt storage pool (a folder in $W)
KEEP=${ECLAT_VAGRANT_KEEP:-0}
CLASSROOM=${ECLAT_VAGRANT_CLASSROOM:-0}
CLASSROOM_ONLY=${ECLAT_VAGRANT_CLASSROOM_ONLY:-0}
CPFX=eclatci                                           # the classroom's prefix: VMs eclatci01..
CDIR=$REPO/vagrant/classroom/$CPFX                     # its folder (roster, Vagrant's state)
HOSTBIN=${ECLAT_VAGRANT_HOST_BIN:-$W/eclat-lab-${ECLAT_VAGRANT_ARCH:-amd64}}
TSOCK=$W/tmux.sock                                     # the private tmux server of the login checks
ARCH=${ECLAT_VAGRANT_ARCH:-amd64}
case "$ARCH" in
  amd64) TRIPLE=x86_64-unknown-linux-gnu QEMU_PKG=qemu-system-x86 ;;
  arm64) TRIPLE=aarch64-unknown-linux-gnu QEMU_PKG=qemu-system-arm ;;
  *) echo "ECLAT_VAGRANT_ARCH=$ARCH: amd64 or arm64" >&2; exit 2 ;;
esac
case "$CLASSROOM" in ''|*[!0-9]*) echo "ECLAT_VAGRANT_CLASSROOM=$CLASSROOM: a number of VMs" >&2; exit 2 ;; esac
if [ "$CLASSROOM" != 0 ] && [ "$ARCH" != amd64 ]; then
  echo "ECLAT_VAGRANT_CLASSROOM: amd64 only (the host runs the command; the VMs would share arm64's UEFI store)" >&2; exit 2
fi
MIRROR=${ECLAT_VAGRANT_MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}

if [ "${ECLAT_VAGRANT_CI:-1}" = 0 ]; then echo "vagrant test skipped: ECLAT_VAGRANT_CI=0"; exit 0; fi
[ "$(id -u)" = 0 ] || { echo "tests/vagrant/ci.sh: run as root (it runs libvirtd and builds a disk image)" >&2; exit 1; }

export VAGRANT_HOME=$W/vagrant.d             # boxes and plugins state of this test only
export VAGRANT_DOTFILE_PATH=$W/dot           # the VM's state stays out of the repository
export VAGRANT_CHECKPOINT_DISABLE=1 VAGRANT_NO_COLOR=1
export LIBVIRT_DEFAULT_URI=qemu:///system
mkdir -p "$W"
exec 9>"$W/lock"
flock -w 3600 9 || { echo "another vagrant test holds $W/lock (holders: $(fuser "$W/lock" 2>&1))" >&2; exit 1; }

T0=$(date +%s)
TIMES=()
step() { echo "== $(date -u +%T) $*"; }
# timed LABEL CMD...: run, record the duration under LABEL
timed() {
  local label=$1 s rc=0; shift; s=$(date +%s%N)
  "$@" || rc=$?
  local ms=$(( ($(date +%s%N) - s) / 1000000 ))
  TIMES+=("$(printf '%-28s %5d.%d s%s' "$label" $((ms / 1000)) $((ms % 1000 / 100)) "$([ $rc = 0 ] || echo "  (exit $rc)")")")
  return $rc
}
fail() { echo "FAIL: $*" >&2; exit 1; }

# vagrant inside the namespace, with a time limit and without progress-bar noise
V() {
  local t=$1; shift
  # --foreground: stay in this process group, so that killing the test's group stops vagrant too
  ip netns exec "$NS" timeout --foreground --kill-after=30 "$t" vagrant "$@" 9>&- 2>&1 |
    grep --line-buffered -v -e 'Progress:' -e '^\s*$' -e '^==> default:  -- ' -e '^    default: $'
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 124 ] && echo "vagrant $1: timed out after ${t}s" >&2
  return "$rc"
}
# a command in the guest; output to stdout
G() { V 300 ssh -c "$1" -- -o LogLevel=ERROR; }

ours() { # is the pid in FILE alive and the named program?
  local f=$1 name=$2 p
  [ -f "$f" ] && p=$(cat "$f") && [ -n "$p" ] && [ "$(cat /proc/"$p"/comm 2>/dev/null)" = "$name" ] && echo "$p"
}

# the libvirt objects of this test (its libvirtd is private: it holds nothing else)
libvirt_clean() {
  local d v
  for d in $(virsh list --all --name 2>/dev/null | grep -e '^vagrant_' -e "^eclat-classroom-$CPFX"); do
    virsh destroy "$d" >/dev/null 2>&1; virsh undefine "$d" --nvram >/dev/null 2>&1 || virsh undefine "$d" >/dev/null 2>&1
  done
  if virsh pool-info "$POOL" >/dev/null 2>&1; then
    for v in $(virsh vol-list "$POOL" 2>/dev/null | awk 'NR>2 && $1 {print $1}'); do virsh vol-delete --pool "$POOL" "$v" >/dev/null 2>&1; done
    virsh pool-destroy "$POOL" >/dev/null 2>&1; virsh pool-undefine "$POOL" >/dev/null 2>&1
  fi
  virsh net-destroy vagrant-libvirt >/dev/null 2>&1; virsh net-undefine vagrant-libvirt >/dev/null 2>&1
  return 0
}

cleanup() {
  set +e
  if [ -n "$(ours "$W/libvirtd.pid" libvirtd)" ]; then
    if [ -f "$CDIR/roster.json" ] && [ -x "$HOSTBIN" ] && ip netns list | grep -qw "$NS"; then
      echo "   classroom down --vms --prefix $CPFX (a run that did not finish)"
      (cd "$REPO" && ip netns exec "$NS" timeout 300 "$HOSTBIN" classroom down --vms --prefix "$CPFX" 2>&1 |
        grep -v -e 'Progress:' -e '^\s*$' | tail -n 15 | sed 's/^/   | /')
    fi
    if [ -d "$W/dot" ] && ip netns list | grep -qw "$NS"; then
      (cd "$REPO/vagrant" && VAGRANT_CWD="$REPO/vagrant" \
        ip netns exec "$NS" timeout 180 vagrant destroy -f >/dev/null 2>&1)
    fi
    libvirt_clean
  fi
  for d in libvirtd virtlogd; do
    p=$(ours "$W/$d.pid" "$d") && { kill "$p"; for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; }
    rm -f "$W/$d.pid"
  done
  rm -rf "$W/dot" "$W/pool" "$W/nvram"
  # the classroom's folder (roster, Vagrant's state) if its `down` did not remove it
  [ -d "$CDIR" ] && rm -rf "$CDIR"
  # and Vagrant's index entries of its machines (in this test's own VAGRANT_HOME)
  python3 - "$W/vagrant.d/data/machine-index/index" "$CDIR/" <<'PY' 2>/dev/null
import json, sys
p, d = sys.argv[1], sys.argv[2]
try: idx = json.load(open(p))
except OSError: sys.exit(0)
keep = {k: m for k, m in idx.get("machines", {}).items() if not m.get("local_data_path", "").startswith(d)}
if len(keep) != len(idx.get("machines", {})):
    idx["machines"] = keep; json.dump(idx, open(p, "w"))
PY
  # the login checks' tmux server (its panes' ssh run in the namespace)
  if [ -S "$TSOCK" ]; then tmux -S "$TSOCK" kill-server >/dev/null 2>&1; rm -f "$TSOCK"; fi
  # what is left in the test's own namespace (Vagrant's SSH port forwards of a killed run)
  if ip netns list | grep -qw "$NS"; then
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill "$p" 2>/dev/null; done
  fi
  ip netns list | grep -qw "$NS" && ip netns del "$NS"
  if [ -f "$W/kvm.perm" ] && [ -e /dev/kvm ]; then
    read -r m o < "$W/kvm.perm"; chmod "$m" /dev/kvm; chown "$o" /dev/kvm; rm -f "$W/kvm.perm"
  fi
}

on_exit() {
  local rc=$?
  if [ "$rc" != 0 ] && [ -s "$W/serial.log" ]; then
    echo "---- last lines of the guest's serial console ($W/serial.log)"; tail -n 25 "$W/serial.log" | tr -d '\r'
  fi
  if [ "$KEEP" = 1 ]; then
    echo "ECLAT_VAGRANT_KEEP=1: VM and daemons left up; clean with: $0 --cleanup"
  else
    step "cleanup"; timed "cleanup" cleanup
  fi
  echo "== timings"; printf '   %s\n' "${TIMES[@]}"
  echo "   total                        $(( $(date +%s) - T0 )) s"
  printf '%s\n' "${TIMES[@]}" "total $(( $(date +%s) - T0 )) s, exit $rc" > "$W/last-run-$ARCH.txt"
  [ "$rc" = 0 ] && echo "vagrant test: PASS" || echo "vagrant test: FAIL (exit $rc)"
  exit "$rc"
}

if [ "${1:-}" = --cleanup ]; then cleanup; exit 0; fi

# ---------------------------------------------------------------------------------------
step "0. leftovers of an earlier run"
cleanup
rm -f "$W/serial.log" "$W"/*.txt "$W"/*.json 2>/dev/null || true
if pgrep -x libvirtd >/dev/null; then
  fail "a libvirtd not started by this test is running (pid $(pgrep -x libvirtd | tr '\n' ' ')): this test runs its own, inside a network namespace; stop the other one first"
fi
trap on_exit EXIT
trap 'exit 143' TERM INT HUP    # so that a killed run still cleans up (through the EXIT trap)

step "1. host packages"
install_packages() {
  local want="vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients dnsmasq-base debootstrap fdisk rsync qemu-utils $QEMU_PKG"
  local extra=
  [ "$ARCH" = arm64 ] && extra="qemu-user-static qemu-efi-aarch64 dosfstools mtools gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
  dpkg -s $want $extra >/dev/null 2>&1 && { echo "   already installed"; return 0; }
  # qemu-utils may come from bookworm-backports (it does on CI's machines): qemu-system must match it
  if ! grep -rqs '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$MIRROR" > /etc/apt/sources.list.d/bookworm-backports.sources
  fi
  timeout 600 apt-get update -qq
  local Q=/bookworm-backports
  dpkg-query -W -f '${Version}' qemu-utils 2>/dev/null | grep -q bpo || Q=
  local user=
  [ "$ARCH" = arm64 ] && user="qemu-user-static$Q qemu-efi-aarch64 dosfstools mtools gcc-aarch64-linux-gnu libc6-dev-arm64-cross"
  DEBIAN_FRONTEND=noninteractive timeout 1200 apt-get install -y -qq --no-install-recommends \
    vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients dnsmasq-base debootstrap fdisk rsync \
    qemu-utils$Q $QEMU_PKG$Q qemu-system-common$Q qemu-system-data$Q seabios$Q $user >/dev/null
}
timed "host packages" install_packages

BOXES=${ECLAT_VAGRANT_BOXES:+$(realpath "$ECLAT_VAGRANT_BOXES")}
if [ -n "$BOXES" ]; then
  ls "$BOXES"/eclat-lab-"$ARCH"-*-libvirt.box >/dev/null 2>&1 || fail "no eclat-lab-$ARCH-*-libvirt.box in $BOXES"
fi

step "2. eclat-lab release build on the host ($TRIPLE)"
if [ -n "$BOXES" ]; then echo "   skipped: testing the boxes in $BOXES"; else
if ! command -v cargo >/dev/null 2>&1 && [ -n "${SUDO_USER:-}" ]; then
  export PATH="$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin:$PATH"
fi
BUILD=(cargo build --release --locked -p eclat-lab --manifest-path "$REPO/Cargo.toml")
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
BIN=$TARGET/release/eclat-lab
if [ "$ARCH" = arm64 ]; then
  # cross-built: the aarch64 standard library comes with rustup's target, the linker with gcc-aarch64-linux-gnu
  rustup target list --installed 2>/dev/null | grep -qx "$TRIPLE" || timed "rustup target add" rustup target add "$TRIPLE"
  export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
  BUILD+=(--target "$TRIPLE"); BIN=$TARGET/$TRIPLE/release/eclat-lab
fi
timed "cargo build --release" "${BUILD[@]}" > "$W/cargo.log" 2>&1 || { tail -30 "$W/cargo.log"; fail "cargo build --release"; }
[ -x "$BIN" ] || fail "no $BIN after the build"
# the box gets a private copy, so that a concurrent build cannot swap it
install -m 0755 "$BIN" "$W/eclat-lab-$ARCH"
fi

step "3. vagrant validate (default settings, then the multi-machine Vagrantfile)"
validate() {
  (cd "$REPO/vagrant" && env -u ECLAT_BOX VAGRANT_CWD="$REPO/vagrant" timeout 120 vagrant validate) &&
  (cd "$REPO/vagrant/multi" && VAGRANT_CWD="$REPO/vagrant/multi" timeout 120 vagrant validate)
}
timed "vagrant validate (x2)" validate || fail "vagrant validate"

step "4. the lab box (vagrant/box/build.sh; root file system cached in $W/boxwork)"
if [ -n "$BOXES" ]; then
  echo "   skipped: the boxes in $BOXES"
else
  rm -rf "$W/boxes"; mkdir -p "$W/boxes"
  timed "build the lab box" timeout 3600 "$REPO/vagrant/box/build.sh" --arch "$ARCH" --providers libvirt --fast \
    --bin "$W/eclat-lab-$ARCH" --out "$W/boxes" --work "$W/boxwork" --mirror "$MIRROR" || fail "building the box"
  BOXES=$W/boxes
fi
BOXFILE=$(ls "$BOXES"/eclat-lab-"$ARCH"-*-libvirt.box | sort -V | tail -1)
echo "   $(basename "$BOXFILE"): $(du -m "$BOXFILE" | cut -f1) MiB"
# a box of the same version from an earlier run holds an older binary: vagrant up adds this one
vagrant box list 2>/dev/null | grep -q "^eclat-lab/$ARCH " && vagrant box remove -f --all "eclat-lab/$ARCH" >/dev/null
for b in $(vagrant box list 2>/dev/null | awk '/^eclat-local\//{print $1}' | sort -u); do vagrant box remove -f --all "$b" >/dev/null; done

step "5. libvirtd and virtlogd inside network namespace $NS"
[ -e /dev/kvm ] && { stat -c '%a %U:%G' /dev/kvm > "$W/kvm.perm"; chgrp kvm /dev/kvm; chmod 0660 /dev/kvm; }
# (Debian's udev rule would set that mode; without it libvirt re-probes QEMU on every call)
ip netns add "$NS"; ip -n "$NS" link set lo up
# (without the lock's descriptor: a daemon left behind by a killed run must not hold the lock)
ip netns exec "$NS" virtlogd -d -p "$W/virtlogd.pid" 9>&-
ip netns exec "$NS" libvirtd -d -p "$W/libvirtd.pid" 9>&-
for _ in $(seq 100); do virsh -q version >/dev/null 2>&1 && break; sleep 0.2; done
virsh -q version >/dev/null || fail "libvirtd did not answer"
libvirt_clean   # objects a killed earlier run left in libvirt's state
mkdir -p "$W/pool"; chmod 0711 "$W"
virsh -q pool-define-as "$POOL" dir --target "$W/pool" >/dev/null && virsh -q pool-start "$POOL" >/dev/null

export VAGRANT_CWD=$REPO/vagrant
CPU_MODEL=qemu64; [ "$ARCH" = arm64 ] && CPU_MODEL=cortex-a72
export ECLAT_BOX_DIR=$BOXES ECLAT_ARCH=$ARCH ECLAT_PROVIDER=libvirt ECLAT_LIBVIRT_DRIVER=qemu \
       ECLAT_LIBVIRT_CPU_MODEL=$CPU_MODEL ECLAT_LIBVIRT_POOL=$POOL ECLAT_LIBVIRT_SERIAL=$W/serial.log \
       ECLAT_CPUS=2 ECLAT_MEMORY=1536
# arm64: the UEFI variable store in the work folder (vagrant destroy keeps it; cleanup removes it)
export ECLAT_LIBVIRT_NVRAM=$W/nvram/eclat-lab_VARS.fd
mkdir -p "$W/nvram"
unset ECLAT_BOX ECLAT_PREBUILT ECLAT_SYNC

if [ "$CLASSROOM_ONLY" = 1 ]; then
  echo "== steps 6-8 (one VM) skipped: ECLAT_VAGRANT_CLASSROOM_ONLY=1"
else
step "6. vagrant up (QEMU TCG, the project's Vagrantfile, the box from ECLAT_BOX_DIR)"
timed "vagrant up (box add, boot, provision)" V 2400 up --provider=libvirt || fail "vagrant up"

step "7. checks inside the guest"
G 'uname -r; grep PRETTY /etc/os-release' || fail "vagrant ssh"
rc=0; timed "doctor" G 'sudo eclat-lab doctor' > "$W/doctor.txt" || rc=$?
sed 's/^/   | /' "$W/doctor.txt"; [ "$rc" = 0 ] || fail "eclat-lab doctor in the guest (exit $rc)"
G 'sudo eclat-lab doctor --json' > "$W/doctor.json" || fail "eclat-lab doctor --json in the guest"
python3 - "$W/doctor.json" <<'PY' || fail "doctor in the guest is not all green"
import json, sys
text = open(sys.argv[1]).read()
d = json.loads(text[text.index("{"):])
# all green; clang alone may warn (it is needed only to build one's own modules)
bad = [c for c in d["checks"] if c["level"] != "ok" and not (c["name"] == "clang" and c["level"] == "warn")]
if not d.get("ok") or bad:
    print("not green:", bad)
    sys.exit(1)
PY
echo "   doctor: all green"

# offline: provisioning installed nothing (apt's log is as the box build left it, no Rust
# toolchain), and the guest has no way out of the namespace anyway
OFFLINE='set -e
cat /etc/eclat-lab-box
n=$(sudo find /var/log/apt /var/lib/dpkg/status -newer /etc/eclat-lab-box | wc -l)
echo "apt or dpkg files changed since the box was built: $n"; [ "$n" = 0 ]
[ ! -e /home/vagrant/.cargo ] && [ ! -e /home/vagrant/.rustup ] && [ ! -e /root/.cargo ] && echo "no Rust toolchain in the guest"
for p in bpftool bpftrace clang-19 python3; do PATH=$PATH:/usr/sbin:/sbin command -v $p >/dev/null || { echo "missing: $p"; exit 1; }; done
python3 -c "import bcc" && echo "bcc importable"
ls -d /lib/modules/$(uname -r)/build >/dev/null && echo "kernel headers for $(uname -r)"'
rc=0; timed "offline box contents" G "$OFFLINE" > "$W/offline.txt" || rc=$?
sed 's/^/   | /' "$W/offline.txt"; [ "$rc" = 0 ] || fail "the guest is not the complete offline lab the box promises (exit $rc)"

LESSON1='set -e
sudo eclat-lab reset >/dev/null
sudo eclat-lab topo up
sudo eclat-lab xdp attach xdp_counter sut enp6s0f0
sudo eclat-lab traffic --from tg --to fc01::2 --udp 5000 --count 100
sudo eclat-lab map dump pkt_count
echo "JSON $(sudo eclat-lab map dump pkt_count --json | tr -d "\n")"
sudo eclat-lab reset'
rc=0; timed "lesson 1 flow" G "$LESSON1" > "$W/lesson1.txt" || rc=$?
grep -v '^JSON ' "$W/lesson1.txt" | sed 's/^/   | /'; [ "$rc" = 0 ] || fail "lesson 1 flow in the guest (exit $rc)"
python3 - "$W/lesson1.txt" <<'PY' || fail "lesson 1: pkt_count is not exactly 100"
import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith("JSON ")][-1]
d = json.loads(line[5:])
total = sum(r["value"] for r in d["rows"])
print("   pkt_count after 100 packets:", total)
sys.exit(0 if total == 100 else 1)
PY
G 'n=$(ip netns list | wc -l); echo "namespaces left in the guest: $n"; [ "$n" = 0 ]' || fail "reset left namespaces in the guest"

# lesson 1's exercise as a learner meets it: the starter fails its checks, the solution
# (copied over the learner's file) passes them, and the solution then opens
CHECK1='cd /tmp
sudo eclat-lab lesson check 1 > /tmp/starter.txt 2>&1; echo "starter: exit $?"
tail -n 3 /tmp/starter.txt
f=$(find ~/eclat-lab/01-hello-xdp -name "*.bpf.c" | head -1); echo "learner file: $f"
cp ~/eclat-lab-src/lessons/01-hello-xdp/solution/$(basename "$f") "$f"
sudo eclat-lab lesson check 1; echo "solution: exit $?"'
rc=0; timed "lesson 1 checks" G "$CHECK1" > "$W/check1.txt" || rc=$?
sed 's/^/   | /' "$W/check1.txt"
grep -q '^starter: exit [1-9]' "$W/check1.txt" || fail "lesson 1: the starter file passed its checks"
grep -q '^solution: exit 0' "$W/check1.txt" || fail "lesson 1: the solution did not pass its checks in the guest"

if [ "$ARCH" != amd64 ] && [ "${ECLAT_VAGRANT_FULL:-0}" != 1 ]; then
  echo "   ($ARCH: lessons 8 and dev check are left to the amd64 run; ECLAT_VAGRANT_FULL=1 runs them here too)"
else

# lesson 8's solution on the guest's kernel (6.1, which tags programs with SHA-1): its chain
# compiled and linked into one program, and a burst of the flood counted by the chain
DDOS=$(base64 -w0 "$REPO/lessons/08-ddos-mitigation/solution/ddos.eclat")
LESSON6="set -e
sudo eclat-lab reset >/dev/null
sudo eclat-lab topo up >/dev/null
echo $DDOS | base64 -d > /tmp/ddos.eclat
sudo eclat-lab load /tmp/ddos.eclat
sudo eclat-lab chain list
sudo bpftool prog show name hike_chain_1 | grep -o 'btf_id [0-9]*' || true
echo \"source lines: \$(sudo bpftool prog dump xlated name hike_chain_1 linum | grep -c '\\[file:')\"
sudo eclat-lab traffic --from tg --to fc01::2 --udp 5000 --count 100 --rate 1000
sudo eclat-lab map dump map_pcpu_mon
sudo eclat-lab reset >/dev/null"
rc=0; timed "lesson 8 chain, linked" G "$LESSON6" > "$W/lesson6.txt" || rc=$?
sed 's/^/   | /' "$W/lesson6.txt"; [ "$rc" = 0 ] || fail "lesson 8 load in the guest (exit $rc)"
grep -q "compiled: linked into one program" "$W/lesson6.txt" \
  || fail "lesson 8: the guest did not link the chain into one program"
# the linked program carries its parts' BTF: bpftool (and a verifier log) show source lines
grep -q "btf_id [0-9]" "$W/lesson6.txt" \
  || fail "lesson 8: the guest loaded the linked program without BTF"
[ "$(sed -n 's/^source lines: //p' "$W/lesson6.txt")" -gt 0 ] 2>/dev/null \
  || fail "lesson 8: the guest's linked program has no source lines"

# every lesson exercise on the guest's kernel: starters fail their checks, solutions pass them
# (C modules built with the guest's clang and verified by its 6.1 verifier, chains run on
# crafted packets through BPF_PROG_TEST_RUN) - lessons 2 and 6 and whatever comes next
rc=0; timed "dev check (all lessons)" V 1200 ssh -c 'sudo eclat-lab dev check' -- -o LogLevel=ERROR > "$W/devcheck.txt" || rc=$?
sed 's/^/   | /' "$W/devcheck.txt"; [ "$rc" = 0 ] || fail "eclat-lab dev check in the guest (exit $rc)"

fi

step "8. vagrant destroy"
timed "vagrant destroy" V 300 destroy -f || fail "vagrant destroy"
fi

if [ "$CLASSROOM" != 0 ]; then
step "9. a classroom of $CLASSROOM VMs: eclat-lab classroom up $CLASSROOM --vms (vagrant/classroom/Vagrantfile)"
[ -x "$HOSTBIN" ] || fail "no host binary $HOSTBIN for \`classroom up --vms\` (ECLAT_VAGRANT_HOST_BIN)"
[ -e "$CDIR" ] && fail "$CDIR exists: a classroom \`$CPFX\` of another run (remove it with: $HOSTBIN classroom down --vms --prefix $CPFX)"
# the lab's command inside the namespace, from the repository (it finds vagrant/classroom there);
# each VM's serial console would be one file for all: not for the classroom
C() { (cd "$REPO" && ip netns exec "$NS" env -u ECLAT_LIBVIRT_SERIAL timeout --foreground --kill-after=30 "$1" "$HOSTBIN" "${@:2}" 9>&- < /dev/null); }
# vagrant on the classroom's machines, as the command runs it
CV() {
  local t=$1; shift
  ip netns exec "$NS" env VAGRANT_CWD="$REPO/vagrant/classroom" VAGRANT_DOTFILE_PATH="$CDIR/.vagrant" \
    ECLAT_CLASSROOM_DIR="$CDIR" timeout --foreground --kill-after=30 "$t" vagrant "$@" 9>&- < /dev/null 2>&1 | grep -v -e 'Progress:' -e '^\s*$'
  return "${PIPESTATUS[0]}"
}
DDOS_FILE=$REPO/lessons/08-ddos-mitigation/solution/ddos.eclat
rc=0
timed "classroom up $CLASSROOM --vms (whole command)" C $((CLASSROOM * 900)) classroom up "$CLASSROOM" --vms --prefix "$CPFX" \
  --load "$DDOS_FILE" --lesson 8 --json > "$W/classroom-up.json" 2> "$W/classroom-up.log" || rc=$?
grep -v -e 'Progress:' -e '^\s*$' -e ' -- ' "$W/classroom-up.log" | grep -E "^(==>|error|Bringing)| eclatci[0-9]+: (eclatci|  box:)" | sed 's/^/   | /'
[ "$rc" = 0 ] || { tail -n 30 "$W/classroom-up.log"; fail "classroom up $CLASSROOM --vms (exit $rc)"; }
python3 - "$W/classroom-up.json" "$CLASSROOM" "$CPFX" > "$W/classroom-vms.txt" <<'PY' || fail "classroom up --vms: its report is not the one asked for"
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2]); pfx = sys.argv[3]
names = [f"{pfx}{i:02d}" for i in range(1, n + 1)]
got = [(l["name"], l["port"], l["state"]) for l in d["learners"]]
# (inaccessible: vagrant-libvirt's word for running with its address not read in time, under
# emulation; the checks below reach each VM anyway)
got = [(n, p, "running" if st == "inaccessible" else st) for n, p, st in got]
want = [(name, 2300 + i, "running") for i, name in enumerate(names, 1)]
if got != want or d["added"] != names or not d["one_at_a_time"]:
    sys.exit(f"report {got} added {d['added']} one_at_a_time {d['one_at_a_time']}; want {want}")
for l in d["learners"]:
    print(l["name"], l["port"], l["password"])
print(f"# vagrant up {d['vagrant_up_ms']} ms, whole command {d['total_ms']} ms", file=sys.stderr)
PY
echo "   VMs (name, ssh port, password): $(tr '\n' ';' < "$W/classroom-vms.txt")"
printf '#!/bin/sh\necho "$ECLAT_CI_PW"\n' > "$W/askpass"; chmod 0700 "$W/askpass"
# The learner's login on a real terminal: ssh -tt in a pane of a tmux server of this test's own
# (its socket in $W; remain-on-exit keeps the pane's last screen when ssh ends)
# (the lesson's own title: the top-level key, before its maps' and steps' tables)
LESSON_TITLE=$(sed -n '1,/^\[/ s/^title = "\(.*\)"$/\1/p' "$REPO/lessons/08-ddos-mitigation/lesson.toml")
[ -n "$LESSON_TITLE" ] || fail "no title in lessons/08-ddos-mitigation/lesson.toml"
printf 'set -g remain-on-exit on\nset -g status off\nset -g history-limit 2000\n' > "$W/tmux.conf"
T() { tmux -S "$TSOCK" "$@" 9>&- < /dev/null; }
# pane_wait SESSION SECONDS WHAT CMD...: poll the pane's screen (CMD reads it on stdin) until CMD
# succeeds; print the screen and fail after SECONDS, or at once if the pane's ssh has ended or
# the screen satisfies the command in PANE_GIVE_UP (if set)
PANE_GIVE_UP=
pane_wait() {
  local sess=$1 secs=$2 end=$(( $(date +%s) + $2 )) what=$3 dead why; shift 3
  while :; do
    T capture-pane -p -t "$sess" > "$W/pane-$sess.txt" 2>/dev/null || true
    "$@" < "$W/pane-$sess.txt" && return 0
    dead=$(T display-message -p -t "$sess" '#{pane_dead} #{pane_dead_status}' 2>/dev/null || echo "1 ?")
    why=
    if [ "${dead%% *}" = 1 ]; then why="ssh ended, exit ${dead#* }"
    elif [ -n "$PANE_GIVE_UP" ] && $PANE_GIVE_UP < "$W/pane-$sess.txt"; then why="the screen shows: $PANE_GIVE_UP"
    elif [ "$(date +%s)" -ge "$end" ]; then why="after $secs s"
    fi
    if [ -n "$why" ]; then
      echo "   $sess: no $what ($why); the pane:" >&2
      # (without its empty last lines)
      awk '{ l[NR] = $0 } NF { n = NR } END { for (i = 1; i <= n; i++) print "   # " l[i] }' "$W/pane-$sess.txt" >&2
      return 1
    fi
    sleep 0.2
  done
}
# the tutorial's first frame: its header bar on top, " eclat-lab │ Lesson 8: TITLE │ step ... root"
first_frame() {
  head -n 1 | awk -v h=" eclat-lab │ Lesson 8: $LESSON_TITLE │ " 'index($0, h) == 1 && / root$/ { ok = 1 } END { exit !ok }'
}
quit_question() { grep -q ' Quit? '; }
# the login shell's prompt (name@host:~$) as the screen's last line
prompt_of() { awk -v p="$1@" 'NF { l = $0 } END { exit !(index(l, p) == 1 && l ~ /:~[$]$/) }'; }
# the tutorials (sudo -n eclat-lab, by root) of learner $1 running in their VM, one pid a line
TUTORIALS='for p in $(pgrep -x eclat-lab); do sudo grep -qz "^SUDO_USER=$1\$" /proc/$p/environ 2>/dev/null && echo "tutorial $p"; done; echo listed'
tutorials() {
  CV 120 ssh "$1" -c "set -- $1; $TUTORIALS" -- -o LogLevel=ERROR > "$W/tutorials-$1.txt" || return 1
  grep -qx listed "$W/tutorials-$1.txt" || { cat "$W/tutorials-$1.txt" >&2; return 1; }
  sed -n 's/^tutorial //p' "$W/tutorials-$1.txt"
}
login_opens_the_tutorial() {
  local name=$1 port=$2 password=$3 sess=login-$1 left
  T -f "$W/tmux.conf" new-session -d -s "$sess" -x 120 -y 40 \
    "ip netns exec $NS env ECLAT_CI_PW='$password' SSH_ASKPASS='$W/askpass' SSH_ASKPASS_REQUIRE=force \
     timeout 600 ssh -tt -p $port -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
     -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive $name@127.0.0.1" ||
    { echo "   $name: tmux new-session failed" >&2; return 1; }
  # (bash prints its first prompt after ~/.bash_profile: a prompt first is a login without the tutorial)
  PANE_GIVE_UP="prompt_of $name"
  pane_wait "$sess" 180 "tutorial's first frame (header: eclat-lab, Lesson 8: $LESSON_TITLE, root)" first_frame ||
    { PANE_GIVE_UP=; return 1; }
  PANE_GIVE_UP=
  echo "   $name: login on a terminal opened the tutorial: $(head -n 1 "$W/pane-$sess.txt" | tr -s ' ')"
  left=$(tutorials "$name") || return 1
  [ -n "$left" ] || { echo "   $name: the pane shows the tutorial and the VM runs none of $name's" >&2; return 1; }
  echo "   $name: the tutorial runs in the VM as root for $name (pid $(echo $left))"
  # q asks (the session is root's: quitting removes what it made), y quits
  T send-keys -t "$sess" q
  pane_wait "$sess" 60 "quit question after q" quit_question || return 1
  T send-keys -t "$sess" y
  # back in the login shell (its prompt, name@host:~$, as the last line: keys sent before it
  # would go to the tutorial); a command of ours runs there (its own line shows $(id -un))
  pane_wait "$sess" 60 "shell prompt after quitting the tutorial" prompt_of "$name" || return 1
  T send-keys -t "$sess" 'echo "back in the shell of $(id -un)"' Enter
  pane_wait "$sess" 60 "shell after quitting the tutorial" grep -qx "back in the shell of $name" || return 1
  echo "   $name: q, y left the tutorial for the login shell"
  left=$(tutorials "$name") || return 1
  [ -z "$left" ] || { echo "   $name: the tutorial still runs in the VM after quitting (pid $(echo $left))" >&2; return 1; }
  echo "   $name: no tutorial of $name left in the VM"
  # log out (a hang-up ends the session anyway: kill-session)
  T send-keys -t "$sess" 'exit' Enter
  local end=$(( $(date +%s) + 30 ))
  until [ "$(T display-message -p -t "$sess" '#{pane_dead}' 2>/dev/null)" = 1 ] || [ "$(date +%s)" -ge "$end" ]; do sleep 0.2; done
  T kill-session -t "$sess" 2>/dev/null || true
}
i=0
while read -r name port password; do
  i=$((i + 1)); n=$((100 + i))   # each VM's flood of its own size: counted exactly by its lab
  CHECK="set -e
sudo eclat-lab doctor >/dev/null && echo 'doctor: ok'
sudo eclat-lab chain list | grep -q 'mitigate (' && echo 'chain mitigate loaded at provisioning'
sudo eclat-lab traffic --from tg --to fc01::2 --udp 5000 --count $n --rate 1000
echo \"JSON \$(sudo eclat-lab map dump map_pcpu_mon --json | tr -d '\n')\"
id $name
sudo cat /home/$name/.local/state/eclat-lab/progress.toml
sudo grep -c 'sudo -n /usr/local/bin/eclat-lab' /home/$name/.bash_profile
sudo -u $name sudo -n /usr/local/bin/eclat-lab topo status >/dev/null && echo 'sudo -n eclat-lab as the learner: ok'
if sudo -u $name sudo -n true 2>/dev/null; then echo 'the learner has passwordless sudo for everything'; exit 1; fi"
  rc=0; timed "$name: checks inside" CV 600 ssh "$name" -c "$CHECK" -- -o LogLevel=ERROR > "$W/classroom-$name.txt" || rc=$?
  grep -v '^JSON ' "$W/classroom-$name.txt" | sed "s/^/   | $name: /"
  [ "$rc" = 0 ] || fail "$name: the checks inside the VM (exit $rc)"
  grep -q 'current = "08-ddos-mitigation"' "$W/classroom-$name.txt" || fail "$name: the tutorial does not open on lesson 8"
  python3 - "$W/classroom-$name.txt" "$n" <<'PY' || fail "$name: the lab did not count exactly its flood"
import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith("JSON ")][-1]
d = json.loads(line[5:])
val = lambda v: sum(v) if isinstance(v, list) else int(v)
total = sum(val(r["value"]) for r in d["rows"])
print(f"   map_pcpu_mon after {sys.argv[2]} packets: {total}")
sys.exit(0 if total == int(sys.argv[2]) else 1)
PY
  # the learner's own way in: this host's port, their password (no key), their account
  rc=0
  timed "$name: ssh -p $port with the password" ip netns exec "$NS" env ECLAT_CI_PW="$password" SSH_ASKPASS="$W/askpass" \
    SSH_ASKPASS_REQUIRE=force setsid -w timeout 120 ssh -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o LogLevel=ERROR -o PubkeyAuthentication=no -o PreferredAuthentications=password,keyboard-interactive \
    "$name@127.0.0.1" 'echo "logged in as $(id -un) on $(hostname)"; sudo -n eclat-lab topo status >/dev/null && echo "sudo eclat-lab: ok"' \
    < /dev/null > "$W/classroom-ssh-$name.txt" 2>&1 || rc=$?
  sed "s/^/   | $name ssh: /" "$W/classroom-ssh-$name.txt"
  [ "$rc" = 0 ] && grep -q "logged in as $name on $name" "$W/classroom-ssh-$name.txt" &&
    grep -q 'sudo eclat-lab: ok' "$W/classroom-ssh-$name.txt" || fail "$name: ssh -p $port $name@ with the roster's password"
  # and a wrong password is refused
  if ip netns exec "$NS" env ECLAT_CI_PW="not-$password" SSH_ASKPASS="$W/askpass" SSH_ASKPASS_REQUIRE=force setsid -w \
      timeout 60 ssh -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
      -o PubkeyAuthentication=no -o NumberOfPasswordPrompts=1 "$name@127.0.0.1" true < /dev/null > /dev/null 2>&1; then
    fail "$name: a wrong password logged in"
  fi
  echo "   $name: a wrong password is refused"
  # and that login on a terminal opens the tutorial on lesson 8, which q leaves for the shell
  timed "$name: login opens the tutorial" login_opens_the_tutorial "$name" "$port" "$password" ||
    fail "$name: an SSH login on a terminal did not open the tutorial on lesson 8 (or it did not quit cleanly)"
done < "$W/classroom-vms.txt"
rc=0; C 60 classroom status --vms > "$W/classroom-status.txt" 2>&1 || rc=$?
sed 's/^/   | /' "$W/classroom-status.txt"
[ "$rc" = 0 ] && [ "$(grep -c -E ' (running|inaccessible)$' "$W/classroom-status.txt")" = "$CLASSROOM" ] || fail "classroom status --vms does not show $CLASSROOM running VMs"
rc=0; timed "classroom down --vms (whole command)" C 900 classroom down --vms --prefix "$CPFX" > "$W/classroom-down.txt" 2> "$W/classroom-down.log" || rc=$?
sed 's/^/   | /' "$W/classroom-down.txt"; [ "$rc" = 0 ] || { tail -20 "$W/classroom-down.log"; fail "classroom down --vms (exit $rc)"; }
left=$(virsh list --all --name 2>/dev/null | grep -c "^eclat-classroom-$CPFX" || true)
[ "$left" = 0 ] && [ ! -e "$CDIR" ] || fail "classroom down --vms left $left domain(s) or $CDIR"
echo "   no VM, no folder left"
fi
