#!/bin/bash
# The shared-server classroom measured, made as an instructor makes it: `eclat-lab classroom
# up N --load ddos.eclat` creates N learners (Unix users of a prefix of this run), each with a
# lab of their own (state directory, bpffs root, namespace prefix from the classroom's
# roster) brought up with lesson 8's DDoS policy loaded. Prints:
#   - the wall time of the whole command, and of bringing all N labs up at once (its part);
#   - kernel memory and BPF programs per lab (bpftool on the lab's pins; MemAvailable and
#     `bpftool prog` before/after, machine-wide);
#   - cross-talk: every learner sends the lesson 8 check's flood (100 UDP packets to fc01::2)
#     from their own account (`sudo -n eclat-lab traffic ...`, as they would) at the same
#     time, and each lab's counters must add up to exactly its own 100 packets (and are the
#     check's split, PASS 10, DROP 1, BLACKLISTED 89, when the flood beats the token bucket's
#     refill), whatever the others do;
#   - with --tui K: K learners log in (`su - LEARNER` in tmux: their login opens the tutorial
#     on lesson 8, as `classroom up --lesson 8` set it, polling its maps), and the CPU of their
#     K idle tutorials over 30 s.
# `eclat-lab classroom down` removes every user, file and lab at the end, also after a failure.
#
#   sudo tests/classroom-measure.sh [N] [--tui K] [--bin PATH]
set -u
N=10; TUI=0; BIN=""
while [ $# -gt 0 ]; do
	case "$1" in
	--tui) TUI=$2; shift 2 ;;
	--bin) BIN=$2; shift 2 ;;
	*) N=$1; shift ;;
	esac
done
here=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$here/target/release/eclat-lab}
[ -x "$BIN" ] || { echo "no binary at $BIN (cargo build --release)"; exit 2; }
command -v bpftool >/dev/null || { echo "bpftool is needed to count programs"; exit 2; }
command -v sudo >/dev/null || { echo "sudo is needed (sudo ./setup.sh --deps)"; exit 2; }
prefix=cm$(printf '%x' $(( $$ % 4096 )))$(date +%N | cut -c1-3)
script="$here/lessons/08-ddos-mitigation/solution/ddos.eclat"
base=$(mktemp -d --suffix=.eclat-classroom) || exit 1  # a new folder of this run, mode 700
sessions=()

cleanup() {
	for s in "${sessions[@]}"; do tmux kill-session -t "$s" 2>/dev/null; done
	"$BIN" classroom down --prefix "$prefix" > "$base/down.log" 2>&1 ||
		{ echo "classroom down failed:"; cat "$base/down.log"; }
	tail -n +1 "$base/down.log" | head -1
	rm -rf "$base"
}
trap cleanup EXIT

user_of() { printf '%s%0*d' "$prefix" $(( ${#N} > 2 ? ${#N} : 2 )) "$1"; }
as_learner() { # $1: learner number, then the command of the lab
	local u; u=$(user_of "$1"); shift
	sudo -n -u "$u" -- sudo -n "$BIN" "$@"
}
mem_kb() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
progs() { bpftool prog list 2>/dev/null | grep -c '^[0-9]*:'; }
# one lab's BPF objects: the programs pinned below its root (and the maps they use or that
# are pinned there), with the kernel's memlock accounting of each: "programs maps bytes"
lab_bpf() {
	python3 - "$1" <<'PY'
import json, os, subprocess, sys
progs, maps = {}, {}
def show(kind, path):
    r = subprocess.run(["bpftool", "-j", kind, "show", "pinned", path], capture_output=True, text=True)
    return json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else None
for d, _, files in os.walk(sys.argv[1]):
    for f in files:
        p = os.path.join(d, f)
        m = show("map", p)
        if m and "bytes_memlock" in m:
            maps[m["id"]] = m["bytes_memlock"]; continue
        g = show("prog", p)
        if g and "bytes_memlock" in g:
            progs[g["id"]] = g["bytes_memlock"]
            for mid in g.get("map_ids", []):
                if mid not in maps:
                    r = subprocess.run(["bpftool", "-j", "map", "show", "id", str(mid)], capture_output=True, text=True)
                    if r.returncode == 0:
                        maps[mid] = json.loads(r.stdout).get("bytes_memlock", 0)
print(len(progs), len(maps), sum(progs.values()) + sum(maps.values()))
PY
}
now_ms() { date +%s%3N; }

echo "classroom of $N learners on $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC'), load average $(cut -d' ' -f1-3 /proc/loadavg) before the start"
m0=$(mem_kb); p0=$(progs)
t0=$(now_ms)
"$BIN" --json classroom up "$N" --prefix "$prefix" --load "$script" --lesson 8 > "$base/up.json" 2> "$base/up.err" ||
	{ echo "classroom up failed:"; cat "$base/up.err" | tail -20; exit 1; }
t1=$(now_ms)
m1=$(mem_kb); p1=$(progs)
labs_ms=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["labs_ms"])' "$base/up.json")
echo "classroom up $N --load ddos.eclat: $((t1 - t0)) ms in all (users, homes, sudoers, roster, labs); the $N labs up with the lesson 8 policy loaded, all at once: $labs_ms ms ($(( labs_ms / N )) ms per lab)"
read -r lp lm lb <<< "$(lab_bpf "/sys/fs/bpf/eclat-$(user_of 1)")"
echo "per lab ($(user_of 1), by bpftool): $lp programs pinned, $lm maps, $(( lb / 1024 )) KiB of BPF memory (the kernel's memlock accounting)"
echo "machine-wide (noisy: other processes run too): MemAvailable down $(( (m0 - m1) / 1024 )) MiB for $N labs ($(( (m0 - m1) / N )) KiB per lab), $(( p1 - p0 )) more BPF programs ($(( (p1 - p0) / N )) per lab)"

# cross-talk: all learners flood at once, each from their own account; every lab's counters
# must be the check's exactly
for i in $(seq 1 "$N"); do
	for m in ip6_hset_srcdst_map ip6_dst_tbmon_map ip6_sd_tbmon_map ip6_sd_dec2zero_map map_pcpu_mon; do
		as_learner "$i" map clear "$m" >/dev/null || { echo "learner $i: map clear $m failed"; exit 1; }
	done
done
t2=$(now_ms)
for i in $(seq 1 "$N"); do
	as_learner "$i" traffic --from tg --to fc01::2 --udp 5000 --count 100 > "$base/tr-$i.log" 2>&1 &
done
wait
t3=$(now_ms)
# no cross-talk: each lab counted exactly its own 100 packets (PASS + DROP + BLACKLISTED =
# 100: none of another lab's, none lost). The split is the check's (10, 1, 89) when each flood
# is over before the policy's token bucket refills; on a loaded machine a flood can take
# longer and a few more pass: those labs are counted apart, they are not cross-talk.
bad=0; exact=0; slow=""
for i in $(seq 1 "$N"); do
	d=$(as_learner "$i" --json map dump map_pcpu_mon)
	got=$(python3 -c '
import json,sys
v=json.loads(sys.argv[1]); rows=v["rows"]
c={str(r["key"]):int(str(r["value"]).split()[0]) for r in rows}
print(" ".join(str(c.get(k,0)) for k in ("0","1","2","3")))' "$d" 2>&1)
	read -r pass drop redir black <<< "$got"
	if [ "$((pass + drop + redir + black))" != 100 ]; then
		echo "learner $i: map_pcpu_mon PASS $pass DROP $drop REDIRECT $redir BLACKLISTED $black: not its 100 packets"; bad=1
	elif [ "$pass $drop $redir $black" = "10 1 0 89" ]; then
		exact=$((exact + 1))
	else
		slow="$slow $i($pass/$drop/$black)"
	fi
done
[ $bad = 0 ] && echo "cross-talk: none; every one of the $N labs counted exactly its own 100 packets while the others flooded ($((t3 - t2)) ms for the $N floods at once); $exact with the check's exact split (PASS 10, DROP 1, BLACKLISTED 89)${slow:+, the others' floods outlasted the token bucket's refill (learner(PASS/DROP/BLACKLISTED)):$slow}"

if [ "$TUI" -gt 0 ]; then
	# K learners log in: their login shell opens the tutorial (root's, through sudo)
	for i in $(seq 1 "$TUI"); do
		s="eclat-measure-$prefix-$i"
		tmux new-session -d -s "$s" -x 120 -y 40 "su - $(user_of "$i")" && sessions+=("$s")
	done
	tuis_of() { # the tutorials run for learners 1..K: our binary, SUDO_UID one of theirs
		for i in $(seq 1 "$TUI"); do
			uid=$(id -u "$(user_of "$i")")
			for p in $(pgrep -x eclat-lab); do
				{ tr '\0' '\n' < "/proc/$p/environ"; } 2>/dev/null | grep -qx "SUDO_UID=$uid" && echo "$p"
			done
		done
	}
	deadline=$(( $(date +%s) + 60 ))
	while [ "$(tuis_of | wc -l)" -lt "$TUI" ] && [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.5; done
	tuis=$(tuis_of | tr '\n' ' ')
	echo "$(echo $tuis | wc -w) of $TUI learners' tutorials started at login"
	sleep 5
	ticks() { local s=0; for p in $tuis; do set -- $(sed 's/.*) //' "/proc/$p/stat"); s=$((s + ${12} + ${13})); done; echo $s; }
	c0=$(ticks); sleep 30; c1=$(ticks)
	hz=$(getconf CLK_TCK)
	echo "TUI: $TUI idle learners (the tutorial on lesson 8, as it opens at login) used $(python3 -c "print(round(($c1-$c0)*100/$hz/30,2))")% of one core over 30 s, $(python3 -c "print(round(($c1-$c0)*100/$hz/30/$TUI,2))")% each"
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $bad
