#!/usr/bin/env bash
# screenshot.sh - the README's picture of the terminal UI, taken from the real binary: lesson 1
# in tmux at 100x32, its first steps run (topology up, counter attached, 100 packets sent,
# a slow ping flowing),
# the pane captured with its colours and rendered to book/src/images/tui.png by ansi2png.py.
# Runs in a private lab (own state dir, bpffs root and namespace prefix) and removes it after.
#   sudo book/tools/screenshot.sh [path/to/eclat-lab]
# Needs tmux, Debian's python3-pil and fonts-dejavu-core.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-target/debug/eclat-lab}")
OUT=book/src/images/tui.png
[ "$(id -u)" = 0 ] || { echo "run as root: the lesson's steps build namespaces and load XDP" >&2; exit 1; }
S=eclat-shot-$$
export ECLAT_LAB_STATE=/tmp/$S ECLAT_LAB_BPFFS=/sys/fs/bpf/$S ECLAT_LAB_NS_PREFIX=shot$$-
cleanup() {
  tmux kill-session -t "$S" 2>/dev/null || true
  "$BIN" reset >/dev/null 2>&1 || true
  rm -rf "$ECLAT_LAB_STATE" /tmp/$S.ansi
}
trap cleanup EXIT

# wait until the pane shows TEXT (at most 20 s)
wait_for() {
  for _ in $(seq 200); do tmux capture-pane -p -t "$S" | grep -qF -- "$1" && return 0; sleep 0.1; done
  echo "screenshot.sh: the UI never showed '$1'" >&2; tmux capture-pane -p -t "$S" >&2; return 1
}
key() { tmux send-keys -t "$S" "$@"; }

tmux -f /dev/null new-session -d -s "$S" -x 100 -y 32 \
  "env TERM=xterm-256color ECLAT_LAB_STATE=$ECLAT_LAB_STATE ECLAT_LAB_BPFFS=$ECLAT_LAB_BPFFS ECLAT_LAB_NS_PREFIX=$ECLAT_LAB_NS_PREFIX $BIN tutorial 1"
wait_for "Step 1/8"
key r; wait_for "enp6s0f0"                    # topo up: the drawing fills in
key n; key n; wait_for "Step 3/8"
key r; sleep 2                                 # attach xdp_counter: the map panels appear
key n; wait_for "Step 4/8"
key r; wait_for "sent 100/100"                 # 100 UDP packets at 200/s
key n; wait_for "Step 5/8"
key r; sleep 1.4                               # pings at 10/s: captured while they flow
tmux capture-pane -e -p -t "$S" > /tmp/$S.ansi
key q
mkdir -p "$(dirname "$OUT")"
/usr/bin/python3 book/tools/ansi2png.py /tmp/$S.ansi "$OUT" 100 32
echo "wrote $OUT"
