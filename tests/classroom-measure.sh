#!/bin/bash
# The shared-server classroom measured: N learner labs side by side on this machine, each its
# own state directory, bpffs root and namespace prefix (ECLAT_LAB_STATE, ECLAT_LAB_BPFFS,
# ECLAT_LAB_NS_PREFIX), each brought up with lesson 8's DDoS policy loaded. Prints:
#   - the wall time to bring all N labs up (topo up + load ddos.eclat, all started at once);
#   - kernel memory and BPF programs per lab (MemAvailable and `bpftool prog` before/after);
#   - cross-talk: every lab sends the lesson 8 check's flood (100 UDP packets to fc01::2) at
#     the same time, and each lab's counters must be exactly the check's (PASS 10, DROP 1,
#     BLACKLISTED 89), whatever the others do;
#   - with --tui K: the CPU of K idle TUIs (lesson 8, polling its maps) over 30 s.
# Every lab is reset at the end, also after a failure.
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
# a new folder of this run (mkdir fails rather than reuse one that is there)
base=/tmp/eclat-classroom.$$.$(date +%s%N); mkdir -m 700 "$base" || exit 1
tag=cl$$
script="$here/lessons/08-ddos-mitigation/solution/ddos.eclat"

lab_env() { # $1: learner number
	echo "ECLAT_LAB_STATE=$base/$1/state ECLAT_LAB_BPFFS=/sys/fs/bpf/$tag-$1 ECLAT_LAB_NS_PREFIX=${tag}x$1- ECLAT_LAB_WORKSPACE=$base/$1/ws ECLAT_LAB_PROGRESS=$base/$1/progress.toml"
}
lab() { # $1: learner number, then the command
	local i=$1; shift
	env $(lab_env "$i") "$BIN" "$@"
}
cleanup() {
	for i in $(seq 1 "$N"); do lab "$i" reset >/dev/null 2>&1 & done
	wait
	rm -rf "$base"
}
trap cleanup EXIT

mem_kb() { awk '/^MemAvailable:/ {print $2}' /proc/meminfo; }
progs() { bpftool prog list 2>/dev/null | grep -c '^[0-9]*:'; }
# one lab's BPF objects: the programs pinned below its root (and the maps they use or that
# are pinned there), with the kernel's memlock accounting of each: "programs maps bytes"
lab_bpf() {
	python3 - "/sys/fs/bpf/$tag-$1" <<'PY'
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

echo "classroom of $N labs on $(nproc) CPUs, load $(cut -d' ' -f1 /proc/loadavg) before the start"
m0=$(mem_kb); p0=$(progs)
t0=$(now_ms)
for i in $(seq 1 "$N"); do
	( lab "$i" topo up >/dev/null && lab "$i" load "$script" >/dev/null ) > "$base/up-$i.log" 2>&1 &
done
fail=0
for j in $(jobs -p); do wait "$j" || fail=1; done
t1=$(now_ms)
[ $fail = 0 ] || { echo "a lab did not come up:"; cat "$base"/up-*.log | tail -20; exit 1; }
m1=$(mem_kb); p1=$(progs)
echo "all $N labs up with the lesson 8 policy loaded: $((t1 - t0)) ms ($(( (t1 - t0) / N )) ms per lab)"
read -r lp lm lb <<< "$(lab_bpf 1)"
echo "per lab (lab 1, by bpftool): $lp programs pinned, $lm maps, $(( lb / 1024 )) KiB of BPF memory (the kernel's memlock accounting)"
echo "machine-wide (noisy: other processes run too): MemAvailable down $(( (m0 - m1) / 1024 )) MiB for $N labs ($(( (m0 - m1) / N )) KiB per lab), $(( p1 - p0 )) more BPF programs ($(( (p1 - p0) / N )) per lab)"

# cross-talk: all labs flood at once, every lab's counters must be the check's exactly
for i in $(seq 1 "$N"); do
	for m in ip6_hset_srcdst_map ip6_dst_tbmon_map ip6_sd_tbmon_map ip6_sd_dec2zero_map map_pcpu_mon; do
		lab "$i" map clear "$m" >/dev/null || exit 1
	done
done
for i in $(seq 1 "$N"); do
	lab "$i" traffic --from tg --to fc01::2 --udp 5000 --count 100 > "$base/tr-$i.log" 2>&1 &
done
wait
bad=0
for i in $(seq 1 "$N"); do
	d=$(lab "$i" --json map dump map_pcpu_mon)
	got=$(python3 -c '
import json,sys
v=json.loads(sys.argv[1]); rows=v.get("rows") or [x for x in v.values() if isinstance(x,dict) and "rows" in x][0]["rows"]
c={str(r["key"]):int(str(r["value"]).split()[0]) for r in rows}
print(" ".join(f"{k}={c.get(k,0)}" for k in ("0","1","2","3")))' "$d" 2>&1)
	[ "$got" = "0=10 1=1 2=0 3=89" ] || { echo "lab $i: map_pcpu_mon $got, expected 0=10 1=1 2=0 3=89"; bad=1; }
done
[ $bad = 0 ] && echo "cross-talk: none; all $N labs counted their own 100 packets exactly (PASS 10, DROP 1, BLACKLISTED 89) while the others flooded"

if [ "$TUI" -gt 0 ]; then
	pids=()
	for i in $(seq 1 "$TUI"); do
		env $(lab_env "$i") TERM=xterm-256color script -qfc "$BIN tutorial 8" /dev/null > /dev/null 2>&1 < <(sleep 40) &
		pids+=($!)
	done
	sleep 5
	tuis=$(for p in "${pids[@]}"; do pgrep -P "$p" -f "tutorial 8"; done | tr '\n' ' ')
	ticks() { local s=0; for p in $tuis; do set -- $(sed 's/.*) //' "/proc/$p/stat"); s=$((s + ${12} + ${13})); done; echo $s; }
	c0=$(ticks); sleep 30; c1=$(ticks)
	hz=$(getconf CLK_TCK)
	echo "TUI: $TUI idle learners (lesson 8) used $(python3 -c "print(round(($c1-$c0)*100/$hz/30,2))")% of one core over 30 s, $(python3 -c "print(round(($c1-$c0)*100/$hz/30/$TUI,2))")% each"
	for p in $tuis; do kill "$p" 2>/dev/null; done
	wait
fi
exit $bad
