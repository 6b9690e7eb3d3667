#!/usr/bin/env bash
# doctor-examples.sh - regenerate book/src/guide/doctor-*.txt: real `eclat-lab doctor` output on
# a machine that lacks something, for the instructor's guide. Each case runs the real binary in
# a private mount namespace (unshare -m) where one thing is hidden or changed; the host is never
# modified.   sudo book/tools/doctor-examples.sh [path/to/eclat-lab]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-target/debug/eclat-lab}")
OUT=book/src/guide
[ "$(id -u)" = 0 ] || { echo "run as root (it uses mount namespaces)" >&2; exit 1; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT

doc() { # doc NAME SETUP: run doctor after SETUP inside a private mount namespace
  local name=$1 setup=$2
  { echo '```text'; echo "\$ sudo eclat-lab doctor"
    unshare -m bash -c "mount --make-rprivate /; $setup; NO_COLOR=1 \"$BIN\" doctor" 2>&1 || true
    echo '```'; } > "$OUT/doctor-$name.txt"
  echo "wrote $OUT/doctor-$name.txt"
}

# not root: drop to nobody
{ echo '```text'; echo '$ eclat-lab doctor          # without sudo'
  NO_COLOR=1 setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN" doctor 2>&1 || true
  echo '```'; } > "$OUT/doctor-noroot.txt"; echo "wrote $OUT/doctor-noroot.txt"
# a minimal image without clang and ping on PATH
mkdir -p "$TMP/bin"
doc noclang "export PATH=$TMP/bin"
# the JIT switched off (as some hardened kernels ship)
echo 0 > "$TMP/jit"
doc nojit "mount --bind $TMP/jit /proc/sys/net/core/bpf_jit_enable"
# lockdown in confidentiality mode (Secure Boot on some distributions)
mkdir -p "$TMP/sec"; echo 'none integrity [confidentiality]' > "$TMP/sec/lockdown"
doc lockdown "mount --bind $TMP/sec /sys/kernel/security"
# bpffs not mounted (containers, minimal images): doctor mounts it, being root
doc nobpffs "umount /sys/fs/bpf 2>/dev/null || true"
# a kernel without BTF
doc nobtf "mount -t tmpfs none /sys/kernel/btf"
