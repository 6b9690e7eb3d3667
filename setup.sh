#!/usr/bin/env bash
# setup.sh - install what eclat-lab needs on Debian 12 / Ubuntu 24.04 and build it.
# One script, three callers: run-lab.sh, run-tests.sh (and so CI) and the Vagrant box.
#   sudo ./setup.sh              packages (only the missing ones), bpffs, release build, install
#   sudo ./setup.sh --deps       packages and bpffs only
#   sudo ./setup.sh --no-build   same as --deps
#   sudo ./setup.sh --prebuilt BIN   install a binary built elsewhere instead of building
set -euo pipefail
cd "$(dirname "$0")"

MODE=build
PREBUILT=
while [ $# -gt 0 ]; do
  case "$1" in
    --deps|--no-build) MODE=deps ;;
    --prebuilt) MODE=prebuilt; PREBUILT=$2; shift ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

if [ "$(id -u)" != 0 ]; then
  echo "setup.sh installs packages and mounts bpffs: run it as root (sudo ./setup.sh)" >&2
  exit 1
fi

# Packages: clang/llvm 19 build eBPF C; iproute2, ping and tmux are used by lessons and tests;
# bpftool lets learners look at what the lab loaded; sudo is how a classroom's learners run
# their lab (`eclat-lab classroom`, and its test).
PKGS="clang-19 llvm-19 libbpf-dev linux-libc-dev iproute2 iputils-ping tmux bpftool sudo ca-certificates curl"
# The field's other tools, which lessons compare the lab with (bpftrace, bcc and its Python
# bindings), and the running kernel's headers (bcc compiles against them): installed where the
# distribution has them; the lab itself needs none of them. vagrant/box/build.sh puts them all
# in the boxes (with the headers of the box's kernel).
TOOLS="bpftrace bpfcc-tools python3-bpfcc"
HEADERS="linux-headers-$(uname -r)"

installed() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# has the distribution a package of that name (in the package lists apt has now)?
available() {
  local c
  c=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')   # (no grep -q: pipefail)
  [ -n "$c" ] && [ "$c" != "(none)" ]
}
missing= optional=
for p in $PKGS; do installed "$p" || missing="$missing $p"; done
for p in $TOOLS $HEADERS; do installed "$p" || optional="$optional $p"; done
export DEBIAN_FRONTEND=noninteractive
# refresh the package lists for a required package, or when apt has no lists at all
if [ -n "$missing" ] || { [ -n "$optional" ] && ! ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1; }; then
  apt-get update -qq
fi
wanted= absent=
for p in $optional; do if available "$p"; then wanted="$wanted $p"; else absent="$absent $p"; fi; done
if [ -n "$missing$wanted" ]; then
  say "installing:$missing$wanted"
  # Ubuntu ships bpftool in linux-tools; fall back if the bpftool package does not exist
  if ! apt-get install -y -qq --no-install-recommends $missing $wanted >/dev/null; then
    apt-get install -y -qq --no-install-recommends ${missing/bpftool/} $wanted >/dev/null
  fi
else
  say "packages already installed"
fi
[ -z "$absent" ] || echo "setup.sh: not in this distribution's packages (the lab does not need them):$absent"

# bpffs: systemd mounts it at boot; containers and minimal images may not
if ! mount | grep -q ' /sys/fs/bpf type bpf'; then
  say "mounting bpffs at /sys/fs/bpf"
  mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf
fi

[ "$MODE" = deps ] && exit 0

if [ "$MODE" = prebuilt ]; then
  say "installing $PREBUILT as /usr/local/bin/eclat-lab"
  install -m 0755 "$PREBUILT" /usr/local/bin/eclat-lab
  exit 0
fi

# Cargo: root's, or the one of the user who ran sudo (rustup installs per user). Building as
# that user keeps target/ owned by them.
run_cargo() {
  if command -v cargo >/dev/null 2>&1; then
    cargo "$@"
  elif [ -n "${SUDO_USER:-}" ] && [ -x "$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin/cargo" ]; then
    sudo -u "$SUDO_USER" -H "$(getent passwd "$SUDO_USER" | cut -d: -f6)/.cargo/bin/cargo" "$@"
  else
    echo "cargo not found: install Rust first (https://rustup.rs, or apt-get install cargo on Ubuntu 24.04)" >&2
    exit 1
  fi
}

# Cargo's target directory: CARGO_TARGET_DIR when set (passed on explicitly, since a build as
# the sudo user would not see it), else ./target
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
say "building eclat-lab (release) in $target_dir"
run_cargo build --release --locked -p eclat-lab --target-dir "$target_dir"
install -m 0755 "$target_dir/release/eclat-lab" /usr/local/bin/eclat-lab
say "installed /usr/local/bin/eclat-lab; check the machine with: sudo eclat-lab doctor"
