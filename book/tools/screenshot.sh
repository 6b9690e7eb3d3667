#!/usr/bin/env bash
# screenshot.sh - pictures of the terminal UI, taken from the real binary: each lesson at its key
# moment (book/src/images/lessons/ID.png, with its caption in ID.txt, shown under the lesson's
# steps in the book) and the README's picture (book/src/images/tui.png, lesson 1's).
#
#   sudo book/tools/screenshot.sh [--bin path/to/eclat-lab] [LESSON ...]  (a lesson's name, e.g. hike,
#   or its number; default: every lesson)
#
# The tutorial runs in tmux at 100x32 and is driven by keys only, as a learner would: `n` to
# the step, `r` to run it, waiting each time for what the step prints (so a slow machine only
# takes longer). The pane is captured with its colours and rendered by ansi2png.py. Each
# lesson runs in a private lab (own state dir, bpffs root, namespace prefix, workspace and
# progress file in a home of its own), removed afterwards. Needs tmux, Debian's python3-pil and fonts-dejavu-core.
#
# The key moments (the table below): a script line per lesson,
#   LESSON | actions | caption      (LESSON: the lesson's folder name without its number)
# actions, separated by ';':  K (go to step K and run it, then wait for the step's output to
# settle), K~TEXT (run step K and wait until TEXT is on the screen), +S (S more seconds before
# the picture: a live rate or a running trace), key:X (press X).
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=target/debug/eclat-lab
LESSONS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) LESSONS+=("$1") ;;
  esac
  shift
done
BIN=$(realpath "$BIN")
[ -x "$BIN" ] || { echo "screenshot.sh: no binary $BIN (cargo build -p eclat-lab)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root: the lessons' steps build namespaces and load XDP" >&2; exit 1; }
OUTDIR=book/src/images/lessons
mkdir -p "$OUTDIR"

MOMENTS='
hello-xdp | 1~enp6s0f0; 3~pkt_count; 4~100/100; 5~Ctrl-C stops; +1.5 | Lesson 1: 100 UDP packets counted exactly, then a slow ping flowing: the counter panels update live while the rate column shows about 10 packets per second.
architecture-and-toolchain | 1~verifier; key:v | Lesson 2: the starter rejected by the verifier, the log explained and pointed at the source line.
bpftool-bpftrace-bcc | 1~enp6s0f0; 2~driver mode; 3~100/100; 11~statistics were on; 12~run_cnt | Lesson 3: bpftool on the counter of the lab after 20 echo requests with BPF run-time statistics on: run_cnt 20 and the nanoseconds they took.
cilium-load-balancer | 1~lb_backend; key::lesson solve 4 select-and-rewrite; key:Enter; 6~lb_xdp; 7~lb_backends; 8~lb_backends; 9~lb_backends; 10~lb_service; 11~attached lb_xdp; 12~Ctrl-C stops; +3 | Lesson 4: twelve flows through the XDP load balancer: what it sends per slot and what arrives per backend move together, with no checksum error at the backends.
composing-programs | 5~enp6s0f0; 6~added cube cls; 7~added cube mon; 8~cls:0 -> mon; 9~attached; 10~100/100; 11~free ports | Lesson 5: a chain of two cubes, classifier and monitor, wired by cube commands; after 100 packets every cube counts them in the map panels, and cube show accounts for each packet.
hike | 1~enp6s0f0; 5~verdict ABORTED | Lesson 6: one crafted packet through the starter chain with BPF_PROG_TEST_RUN: the trace shows the chain ending without a final program, and the verdict.
first-eclat-script | 1~enp6s0f0; 4~loaded; 5~20/20 | Lesson 7: the first eCLAT script loaded; 20 packets to the blocked port, counted by the chain.
ddos-mitigation | 1~enp6s0f0; 2~veth0; 4~loaded; 6~Ctrl-C stops; +5 | Lesson 8: the flood under way: the policy blacklists the flow, PASS, DROP and REDIRECT counters moving live.
writing-a-module | 2~kw_filter | Lesson 9: the starter module built and verified, and why a program without its export cannot be called.
beyond | 2~verdict PASS | Lesson 10: the starter DPI chain run on two crafted packets, with and without the keyword: both pass, and the chain trace shows each call and what it returned (finding the offset is the exercise).
'

S=eclat-shot-$$
SHOT=/tmp/$S
cleanup() {
  set +e
  tmux kill-session -t "$S" 2>/dev/null
  if [ -d "$SHOT" ]; then
    ECLAT_LAB_STATE=$SHOT/state ECLAT_LAB_BPFFS=/sys/fs/bpf/$S ECLAT_LAB_NS_PREFIX=shot$$- "$BIN" reset >/dev/null 2>&1
    rm -rf "$SHOT"
  fi
}
trap cleanup EXIT

screen() { tmux capture-pane -p -t "$S"; }
# wait until the pane shows TEXT (at most 60 s)
wait_for() {
  for _ in $(seq 600); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
  echo "screenshot.sh: the UI never showed '$1'" >&2; screen >&2; return 1
}
# wait until the pane stops changing for a second (at most 30 s)
settle() {
  local a b n=0
  a=$(screen)
  for _ in $(seq 300); do
    sleep 0.1; b=$(screen)
    if [ "$a" = "$b" ]; then n=$((n + 1)); [ $n -ge 10 ] && return 0; else n=0; a=$b; fi
  done
}
key() { tmux send-keys -t "$S" "$@"; }
# what the status line shows while a step's command runs (the TUI's own words)
BUSY='Ctrl-C stops'
idle() { # wait until no command runs (at most 120 s)
  for _ in $(seq 1200); do screen | grep -qF -- "$BUSY" || return 0; sleep 0.1; done
  echo "screenshot.sh: a command is still running after 120 s" >&2; screen >&2; return 1
}
# the step the step bar shows (" Step 3/8: "; the event log's "Step 3/8." does not count)
cur_step() { screen | grep -o 'Step [0-9]*/[0-9]*: ' | head -1 | sed 's/Step \([0-9]*\).*/\1/'; }
goto_step() { # one n or p at a time, each time until the bar has moved
  local c
  for _ in $(seq 60); do
    c=$(cur_step)
    [ "$c" = "$1" ] && return 0
    if [ -n "$c" ] && [ "$c" -gt "$1" ]; then key p; else key n; fi
    for _ in $(seq 100); do [ "$(cur_step)" != "$c" ] && break; sleep 0.1; done
  done
  echo "screenshot.sh: could not reach step $1" >&2; screen >&2; return 1
}

shoot() { # LESSON ACTIONS CAPTION
  local name=$1 actions=$2 caption=$3 id nn a step text
  id=$(cd lessons && ls -d [0-9][0-9]-"$name" 2>/dev/null | head -1)
  [ -n "$id" ] || { echo "screenshot.sh: no lesson named $name" >&2; return 1; }
  nn=${id%%-*}
  rm -rf "$SHOT"; mkdir -p "$SHOT"
  # a home of its own: the workspace (~/eclat-lab, which the steps name) and the progress file
  mkdir -p "$SHOT/home"
  local envs="TERM=xterm-256color HOME=$SHOT/home ECLAT_LAB_STATE=$SHOT/state ECLAT_LAB_BPFFS=/sys/fs/bpf/$S ECLAT_LAB_NS_PREFIX=shot$$-"
  tmux -f /dev/null new-session -d -s "$S" -x 100 -y 32 "env -u SUDO_USER -u SUDO_UID -u SUDO_GID -u XDG_STATE_HOME -u ECLAT_LAB_WORKSPACE -u ECLAT_LAB_PROGRESS $envs $BIN tutorial $((10#$nn))"
  wait_for "Step 1/"
  settle
  IFS=';' read -ra acts <<< "$actions"
  local i next
  for i in "${!acts[@]}"; do
    a=$(echo "${acts[$i]}" | sed 's/^ *//; s/ *$//')
    next=$(echo "${acts[$((i + 1))]:-}" | sed 's/^ *//')
    case "$a" in
      key:*) key "${a#key:}"; settle ;;
      +*) sleep "${a#+}" ;;
      *~*) step=${a%%~*}; text=${a#*~}; goto_step "$step"; key r; wait_for "$text" ;;
      *) goto_step "$a"; key r; settle ;;
    esac
    # a step's command must end before the next key, unless the picture is taken while it runs
    case "$a/$next" in key:*|+*) ;; */+*) ;; *) idle ;; esac
  done
  tmux capture-pane -e -p -t "$S" > "$SHOT/pane.ansi"
  key q; key y  # quitting asks first: it removes the lab
  for _ in $(seq 100); do tmux has-session -t "$S" 2>/dev/null || break; sleep 0.1; done
  tmux kill-session -t "$S" 2>/dev/null || true
  ECLAT_LAB_STATE=$SHOT/state ECLAT_LAB_BPFFS=/sys/fs/bpf/$S ECLAT_LAB_NS_PREFIX=shot$$- "$BIN" reset >/dev/null 2>&1 || true
  /usr/bin/python3 book/tools/ansi2png.py "$SHOT/pane.ansi" "$OUTDIR/$id.png" 100 32
  echo "$caption" > "$OUTDIR/$id.txt"
  echo "wrote $OUTDIR/$id.png"
  if [ "$nn" = 01 ]; then cp "$OUTDIR/$id.png" book/src/images/tui.png; echo "wrote book/src/images/tui.png"; fi
}

while IFS='|' read -r name actions caption; do
  name=$(echo "$name" | tr -d ' ')
  [ -n "$name" ] || continue
  if [ ${#LESSONS[@]} -gt 0 ]; then
    num=$(cd lessons && ls -d [0-9][0-9]-"$name" 2>/dev/null | head -1 | cut -d- -f1)
    printf '%s\n' "${LESSONS[@]}" | grep -qxE "$name|0*${num#0}" || continue
  fi
  shoot "$name" "$actions" "$(echo "$caption" | sed 's/^ *//')"
done <<< "$MOMENTS"
