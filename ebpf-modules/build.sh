#!/bin/sh
# Rebuilds every object from its source into obj/ (or $OUT): reproducible, so the committed
# objects can be checked against a fresh build (./check.sh). Needs clang-19 and llvm-strip-19.
#   ./build.sh          rebuild everything into obj/
#   ./build.sh check    rebuild into a scratch dir and compare with obj/
set -eu
cd "$(dirname "$0")"
if [ "${1:-}" = check ]; then exec ./check.sh; fi
CLANG=${CLANG:-clang-19}
STRIP=${STRIP:-llvm-strip-19}
OUT=${OUT:-obj}
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
CFLAGS="-O2 -g -target bpf -Wall -Wno-unused-function -Iinclude -I/usr/include/$MULTIARCH
	-fdebug-prefix-map=$PWD=. -fdebug-compilation-dir=. -fno-ident"

build() { # src out extra-flags...
	src=$1 out=$2
	shift 2
	mkdir -p "$(dirname "$out")"
	# shellcheck disable=SC2086
	$CLANG $CFLAGS "$@" -c "$src" -o "$out"
	$STRIP --strip-debug "$out"
}

for src in vm/*.bpf.c programs/*.bpf.c loaders/*.bpf.c raw/*.bpf.c lab/*.bpf.c cubes/*.bpf.c; do
	[ -f "$src" ] || continue
	build "$src" "$OUT/${src%.bpf.c}.o" -mcpu=v3
done
# the fused DDoS program cut after its first and second step (the bench's stage-by-stage rows)
build raw/ddos.bpf.c "$OUT/raw/ddos_stage1.o" -mcpu=v3 -DDDOS_STAGE=1
build raw/ddos.bpf.c "$OUT/raw/ddos_stage2.o" -mcpu=v3 -DDDOS_STAGE=2
# the VM with one run-time-key tail call instead of the constant-key switch (benchmarks)
build vm/hike_vm.bpf.c "$OUT/vm/hike_vm_dyn.o" -mcpu=v3 -DHIKE_VM_DYNAMIC_DISPATCH
# the VM stepping through bpf_loop: the fallback for kernels that refuse the unrolled loop
build vm/hike_vm.bpf.c "$OUT/vm/hike_vm_loop.o" -mcpu=v3 -DHIKE_VM_BPF_LOOP
# chains: the chain subset has no ALU32/JMP32
for src in chains/*.chain.c; do
	[ -f "$src" ] || continue
	build "$src" "$OUT/${src%.chain.c}.o" -mcpu=v2
done
