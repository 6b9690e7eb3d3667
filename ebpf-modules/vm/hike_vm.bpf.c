/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The HIKe VM: one XDP program in slot 0 of hvm_hprog_map that interprets chain bytecode.
 *
 * The interpreter is a bounded loop of HIKE_BURST_BUDGET steps in the program itself: no
 * bpf_loop callback and no bpf-to-bpf call on the hot path, because every `ret` of JITed
 * code pays the return-stack mitigations of the host (SRSO safe-RET here: ~20 ns a call).
 * State that changes between steps (active frame, PC) lives in the per-CPU chain data, so
 * the verifier sees equal states at each step and prunes; the rare, branchy work (MMU
 * accesses, entering a nested chain) lives in global functions, verified once each.
 *
 * Loaders enter it with a constant-key tail call after writing the chain ID into the per-CPU
 * chain data (active = 0 means "boot"); programs return to it the same way after writing
 * their r0 into the caller frame (active >= 1 means "resume"). A program call leaves the VM
 * through a switch of constant-key tail calls (one call site per program ID, each a direct
 * jump once JITed), or through one run-time-key tail call when built with
 * -DHIKE_VM_DYNAMIC_DISPATCH (kept to measure the difference).
 *
 * Semantics the reference interpreter (hike::vm) shares:
 * - a burst executes at most HIKE_BURST_BUDGET instructions (lddw counts once); running out
 *   aborts; the budget restarts when the VM is re-entered after a program call;
 * - a chain call pushes a frame whose r0..r4 are copied from the caller (r1 = the callee's
 *   own ID), r5..r9 = 0, r10 = fp, a zeroed stack; exit copies r0 back to the caller;
 * - exit from frame 1 (return to the bootstrap frame) aborts: drop by default;
 * - shifts use the low 6 bits of the amount; x / 0 = 0, x % 0 = x;
 * - packet offsets (address - 0x01000008) above 16 KiB fault (never wrap) and every access
 *   must end within the packet; 0x01000000 reads the packet length, writes there are
 *   ignored; offsets 1..7, bank 0 / 2 / unknown banks and addresses above 32 bits fault;
 * - at most HVM_MAX_PROG_CALLS (16) program calls per packet: each costs two tail calls
 *   (VM -> program -> VM) and the loader's entry one, 33 in all, the kernel's limit; the VM
 *   refuses the 17th call itself, so the limit is exact and explained;
 * - a register number above 10 or a write to r10 is an error.
 */
#include <hike/hike.h>
#include <hike/vm_abi.h>

HIKE_DECLARE_HPROG_MAP;
HIKE_DECLARE_JIT_MAP;	/* unused here: declared so that the VM's load creates its pin */
HIKE_DECLARE_CHAIN_MAP;
HIKE_DECLARE_CDATA_MAP;
HIKE_DECLARE_SHMEM_MAP;

HVM_DECLARE_CONFIG_MAP;
HVM_DECLARE_STATS_MAP;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} hvm_trace SEC(".maps");

#define BPF_CLASS(code)	((code) & 0x07)
#define BPF_OP(code)	((code) & 0xf0)
#define BPF_SZ(code)	((code) & 0x18)

static __always_inline void hvm_trace_ev(__u32 on, __u32 kind, __u32 elem, __u32 chain,
					 __u32 pc, __u32 depth, __u32 reason,
					 const __u64 *regs)
{
	struct hvm_trace_event ev;

	if (!on)
		return;
	ev.ts = bpf_ktime_get_ns();
	ev.kind = kind;
	ev.elem = elem;
	ev.chain = chain;
	ev.pc = pc;
	ev.depth = depth;
	ev.reason = reason;
	ev.r[0] = regs[0];
	ev.r[1] = regs[1];
	ev.r[2] = regs[2];
	ev.r[3] = regs[3];
	ev.r[4] = regs[4];
	bpf_ringbuf_output(&hvm_trace, &ev, sizeof(ev), 0);
}

static __always_inline int hvm_abort(__u32 on, __u32 reason, struct hike_chain *f, __u32 pc,
				     __u32 depth)
{
	__u32 key = reason;
	__u64 *cnt = bpf_map_lookup_elem(&hvm_stats, &key);

	if (cnt)
		*cnt += 1;
	if (on && f)
		hvm_trace_ev(on, HVM_EV_ABORT, 0, f->chain_id, pc, depth, reason, f->regs);
	return XDP_ABORTED;
}

/* Makes frame nf run chain id. The frame keeps the bytecode of the chain it ran last, with
 * the store generation it copied (gen) and the store epoch it last checked (pad[0]): while
 * the epoch is unchanged no chain was stored or deleted anywhere, so the cached copy is
 * current without a lookup; otherwise the stored chain's generation decides. */
static __always_inline int hvm_load_chain(struct hike_chain *nf, __u32 id, __u64 epoch)
{
	struct hike_chain *c;
	__u64 gen;

	if (epoch && nf->chain_id == id && nf->pad[0] == epoch)
		goto fresh;
	c = bpf_map_lookup_elem(&hvm_chain_map, &id);
	if (!c)
		return HVM_ERR_NO_CHAIN;
	gen = c->gen;
	if (nf->chain_id != id || nf->gen != gen || gen == 0) {
		__u16 n = c->ninsn;

		if (n > HIKE_MAX_INSNS)
			return HVM_ERR_PC;
		__builtin_memcpy(nf->insns, c->insns, sizeof(c->insns));
		nf->ninsn = n;
		nf->gen = gen;
		nf->chain_id = id;
	}
	nf->pad[0] = gen ? epoch : 0;
fresh:
	nf->upc = 0;
	__builtin_memset(nf->stack, 0, sizeof(nf->stack));
	return 0;
}

/* MMU: translate and load `size` bytes at virtual address addr. */
static __always_inline int hvm_load(struct xdp_md *ctx, struct hike_chain *f, __u64 addr,
				    __u32 size, __u64 *out)
{
	__u32 off = addr & 0xffffff;
	__u32 bank = addr >> 24;
	void *p;

	if (addr >> 32)
		return HVM_ERR_MEM;
	if (bank == HIKE_MMU_BANK_PACKET) {
		void *data = (void *)(long)ctx->data;
		void *end = (void *)(long)ctx->data_end;

		if (off < 8) {
			__u64 len = end - data;

			if (off != 0)
				return HVM_ERR_MEM;
			switch (size) {
			case 1: *out = (__u8)len; break;
			case 2: *out = (__u16)len; break;
			case 4: *out = (__u32)len; break;
			default: *out = len; break;
			}
			return 0;
		}
		if (off - 8 > HIKE_MMU_PACKET_MASK)
			return HVM_ERR_MEM;
		p = data + ((off - 8) & HIKE_MMU_PACKET_MASK);
		switch (size) {
		case 1:
			if (p + 1 > end)
				return HVM_ERR_MEM;
			*out = *(__u8 *)p;
			return 0;
		case 2:
			if (p + 2 > end)
				return HVM_ERR_MEM;
			*out = *(__u16 *)p;
			return 0;
		case 4:
			if (p + 4 > end)
				return HVM_ERR_MEM;
			*out = *(__u32 *)p;
			return 0;
		default:
			if (p + 8 > end)
				return HVM_ERR_MEM;
			*out = *(__u64 *)p;
			return 0;
		}
	}
	if (bank == HIKE_MMU_BANK_STACK) {
		if (off + size > HIKE_STACK_SIZE)
			return HVM_ERR_MEM;
		p = &f->stack[off & (HIKE_STACK_SIZE - 1)];
	} else if (bank == HIKE_MMU_BANK_PCPU_SHMEM) {
		__u32 zero = 0;
		struct hike_shmem *sh;

		if (off + size > HIKE_SHMEM_USER_SIZE)
			return HVM_ERR_MEM;
		sh = bpf_map_lookup_elem(&hvm_shmem_map, &zero);
		if (!sh)
			return HVM_ERR_MEM;
		p = &sh->user[off & (HIKE_SHMEM_USER_SIZE - 1)];
	} else {
		return HVM_ERR_MEM;
	}
	switch (size) {
	case 1: *out = *(__u8 *)p; break;
	case 2: *out = *(__u16 *)p; break;
	case 4: *out = *(__u32 *)p; break;
	default: *out = *(__u64 *)p; break;
	}
	return 0;
}

static __always_inline int hvm_store(struct xdp_md *ctx, struct hike_chain *f, __u64 addr,
				     __u32 size, __u64 val)
{
	__u32 off = addr & 0xffffff;
	__u32 bank = addr >> 24;
	void *p;

	if (addr >> 32)
		return HVM_ERR_MEM;
	if (bank == HIKE_MMU_BANK_PACKET) {
		void *data = (void *)(long)ctx->data;
		void *end = (void *)(long)ctx->data_end;

		if (off == 0)
			return 0;	/* the length slot ignores writes */
		if (off < 8 || off - 8 > HIKE_MMU_PACKET_MASK)
			return HVM_ERR_MEM;
		p = data + ((off - 8) & HIKE_MMU_PACKET_MASK);
		switch (size) {
		case 1:
			if (p + 1 > end)
				return HVM_ERR_MEM;
			*(__u8 *)p = val;
			return 0;
		case 2:
			if (p + 2 > end)
				return HVM_ERR_MEM;
			*(__u16 *)p = val;
			return 0;
		case 4:
			if (p + 4 > end)
				return HVM_ERR_MEM;
			*(__u32 *)p = val;
			return 0;
		default:
			if (p + 8 > end)
				return HVM_ERR_MEM;
			*(__u64 *)p = val;
			return 0;
		}
	}
	if (bank == HIKE_MMU_BANK_STACK) {
		if (off + size > HIKE_STACK_SIZE)
			return HVM_ERR_MEM;
		p = &f->stack[off & (HIKE_STACK_SIZE - 1)];
	} else if (bank == HIKE_MMU_BANK_PCPU_SHMEM) {
		__u32 zero = 0;
		struct hike_shmem *sh;

		if (off + size > HIKE_SHMEM_USER_SIZE)
			return HVM_ERR_MEM;
		sh = bpf_map_lookup_elem(&hvm_shmem_map, &zero);
		if (!sh)
			return HVM_ERR_MEM;
		p = &sh->user[off & (HIKE_SHMEM_USER_SIZE - 1)];
	} else {
		return HVM_ERR_MEM;
	}
	switch (size) {
	case 1: *(__u8 *)p = val; break;
	case 2: *(__u16 *)p = val; break;
	case 4: *(__u32 *)p = val; break;
	default: *(__u64 *)p = val; break;
	}
	return 0;
}

static __always_inline __u32 hvm_size(__u8 code)
{
	switch (BPF_SZ(code)) {
	case BPF_B: return 1;
	case BPF_H: return 2;
	case BPF_W: return 4;
	default: return 8;
	}
}

/* The active frame, read from memory in one shape everywhere (a volatile load, masked, and
 * no range check before the pointer is formed), so that the verifier sees the same frame
 * pointer state on every path into the next step and prunes. */
#define HVM_ACTIVE(cd)	(*(volatile __u16 *)&(cd)->active)
#define HVM_FRAME(cd)	(&(cd)->frames[HVM_ACTIVE(cd) & (HIKE_MAX_FRAMES - 1)])

/* One case per program ID: the key of each tail call is a constant. */
#define TC1(n)	case (n): bpf_tail_call_static(ctx, &hvm_hprog_map, (n)); break;
#define TC2(n)	TC1(n) TC1((n) + 1)
#define TC4(n)	TC2(n) TC2((n) + 2)
#define TC8(n)	TC4(n) TC4((n) + 4)
#define TC16(n)	TC8(n) TC8((n) + 8)
#define TC32(n)	TC16(n) TC16((n) + 16)
#define TC64(n)	TC32(n) TC32((n) + 32)
#define TC128(n) TC64(n) TC64((n) + 64)


/* Entering a chain: frames[depth] runs chain id with r0..r4 of frames[depth - 1]. */
static __always_inline int hvm_enter(struct hike_cdata *cd, __u32 depth, __u32 id, __u64 epoch)
{
	struct hike_chain *pf = &cd->frames[(depth - 1) & (HIKE_MAX_FRAMES - 1)];
	struct hike_chain *nf = &cd->frames[depth & (HIKE_MAX_FRAMES - 1)];
	int err = hvm_load_chain(nf, id, epoch);

	if (err)
		return err;
	hike_frame_regs(nf, pf->regs[0], pf->regs[1], pf->regs[2], pf->regs[3], pf->regs[4]);
	cd->active = depth;
	return 0;
}

/* A nested chain call from the active frame (global function: verified once). */
__attribute__((noinline)) int hvm_call_chain(__u32 elem, __u32 on)
{
	__u32 zero = 0, d;
	struct hike_cdata *cd = bpf_map_lookup_elem(&hvm_cdata_map, &zero);
	struct hvm_config *cfg = bpf_map_lookup_elem(&hvm_config, &zero);
	struct hike_chain *nf;
	int err;

	if (!cd)
		return HVM_ERR_INTERNAL;
	d = cd->active;
	if (d == 0 || d + 1 >= HIKE_MAX_FRAMES)
		return HVM_ERR_DEPTH;
	err = hvm_enter(cd, d + 1, elem, cfg ? cfg->epoch : 0);
	if (err)
		return err;
	nf = &cd->frames[(d + 1) & (HIKE_MAX_FRAMES - 1)];
	hvm_trace_ev(on, HVM_EV_CHAIN_ENTER, elem, elem, 0, d + 1, 0, nf->regs);
	return 0;
}

/* LDX / ST / STX of the active frame's instruction `raw` (global function). */
__attribute__((noinline)) int hvm_mem(struct xdp_md *ctx, __u64 raw)
{
	__u32 zero = 0, code = raw & 0xff, dst = (raw >> 8) & 0x0f, src = (raw >> 12) & 0x0f;
	__s16 off = (__s16)(raw >> 16);
	__s32 imm = (__s32)(raw >> 32);
	struct hike_cdata *cd = bpf_map_lookup_elem(&hvm_cdata_map, &zero);
	struct hike_chain *f;
	__u64 v;
	int err;

	if (!cd)
		return HVM_ERR_INTERNAL;
	f = &cd->frames[cd->active & (HIKE_MAX_FRAMES - 1)];
	if (dst > 10 || src > 10)
		return HVM_ERR_REG;
	if (BPF_MODE(code) != BPF_MEM)
		return HVM_ERR_OPCODE;
	if (BPF_CLASS(code) == BPF_LDX) {
		if (dst == 10)
			return HVM_ERR_REG;
		err = hvm_load(ctx, f, f->regs[src] + (__s64)off, hvm_size(code), &v);
		if (err)
			return err;
		f->regs[dst] = v;
		return 0;
	}
	v = BPF_CLASS(code) == BPF_STX ? f->regs[src] : (__u64)(__s64)imm;
	return hvm_store(ctx, f, f->regs[dst] + (__s64)off, hvm_size(code), v);
}

#ifdef HIKE_VM_BPF_LOOP
/* The fallback build steps through bpf_loop: a callback verified once, for kernels whose
 * verifier gives up on the unrolled loop (each step is then a bpf-to-bpf call, slower). */
struct hvm_run {
	struct xdp_md *ctx;
	struct hike_cdata *cd;
	__u32 on;
	__u32 prog;
	int err;
	int act;
};

enum { HVM_STEP_NEXT = 0, HVM_STEP_CALL = 1, HVM_STEP_ABORT = 2 };

#define STEP_NEXT()	return HVM_STEP_NEXT
#define STEP_CALL()	do { r->prog = prog; return HVM_STEP_CALL; } while (0)
#define STEP_ABORT(e)	do { r->err = (e); return HVM_STEP_ABORT; } while (0)

static __always_inline int hvm_step(struct hvm_run *r, __u32 i)
{
	struct xdp_md *ctx = r->ctx;
	struct hike_cdata *cd = r->cd;
	struct hike_chain *f = HVM_FRAME(cd);
	__u64 raw, *regs, dv, sv, imm64;
	__u32 code, dst, src, pc, d, prog, on = r->on;
	__s32 imm;
	__s16 off;
	int cond, err;

#include "hike_vm_step.h"
	STEP_NEXT();
}

static long hvm_loop_cb(__u32 i, void *data)
{
	struct hvm_run *r = data;

	r->act = hvm_step(r, i);
	return r->act != HVM_STEP_NEXT;
}
#endif

SEC("xdp")
int hike_vm(struct xdp_md *ctx)
{
	__u32 zero = 0, on = 0, d, prog = 0;
#ifndef HIKE_VM_BPF_LOOP
	__u32 i;
#endif
	__u64 epoch = 0;
	struct hike_cdata *cd = bpf_map_lookup_elem(&hvm_cdata_map, &zero);
	struct hike_chain *f;
	int err = HVM_ERR_BUDGET;

	if (!cd)
		return hvm_abort(0, HVM_ERR_INTERNAL, 0, 0, 0);
	d = cd->active;
	if (d == 0) {
		/* boot: the configuration is read once per packet; the trace switch is kept in
		 * the chain data for the re-entries after program calls */
		struct hvm_config *cfg = bpf_map_lookup_elem(&hvm_config, &zero);
		__u32 id = cd->boot_id;

		if (cfg) {
			on = cfg->trace;
			epoch = cfg->epoch;
		}
		cd->flags = on;

		cd->calls = 0;
		f = &cd->frames[0];
		if (!HIKE_IS_CHAIN(id))
			return hvm_abort(on, HVM_ERR_NO_CHAIN, f, 0, 0);
		f->regs[0] = 0;
		f->regs[1] = id;
		f->regs[2] = 0;
		f->regs[3] = 0;
		f->regs[4] = 0;
		err = hvm_enter(cd, 1, id, epoch);
		if (err)
			return hvm_abort(on, err, f, 0, 0);
		f = &cd->frames[1];
		hvm_trace_ev(on, HVM_EV_CHAIN_ENTER, id, id, 0, 1, 0, f->regs);
	} else if ((on = cd->flags)) {
		f = &cd->frames[d & (HIKE_MAX_FRAMES - 1)];
		hvm_trace_ev(on, HVM_EV_PROG_RET, (__u32)f->regs[1], f->chain_id, f->upc, d, 0,
			     f->regs);
	}

	/* the active frame, from memory: every path reaches the loop with the same state */
	f = HVM_FRAME(cd);
	d = HVM_ACTIVE(cd);
	if (d == 0 || d >= HIKE_MAX_FRAMES) {
		err = HVM_ERR_DEPTH;
		goto abort;
	}

#ifdef HIKE_VM_BPF_LOOP
	{
		struct hvm_run r = { .ctx = ctx, .cd = cd, .on = on };

		bpf_loop(HIKE_BURST_BUDGET, hvm_loop_cb, &r, 0);
		f = HVM_FRAME(cd);
		if (r.act == HVM_STEP_CALL) {
			prog = r.prog;
			goto call_prog;
		}
		err = r.act == HVM_STEP_ABORT ? r.err : HVM_ERR_BUDGET;
		goto abort;
	}
#else
#define STEP_NEXT()	continue
#define STEP_CALL()	goto call_prog
#define STEP_ABORT(e)	do { err = (e); goto abort; } while (0)
	for (i = 0; i < HIKE_BURST_BUDGET; i++) {
		__u64 raw, *regs, dv, sv, imm64;
		__u32 code, dst, src, pc;
		__s32 imm;
		__s16 off;
		int cond;

#include "hike_vm_step.h"
	}
	err = HVM_ERR_BUDGET;
	goto abort;
#endif

abort:
	d = cd->active;
	f = &cd->frames[d & (HIKE_MAX_FRAMES - 1)];
	return hvm_abort(on, err, f, f->upc, d);

call_prog:
	d = cd->active;
	if (cd->calls >= HVM_MAX_PROG_CALLS)
		return hvm_abort(on, HVM_ERR_TAIL_CALL_LIMIT, f, f->upc, d);
	cd->calls++;
	hvm_trace_ev(on, HVM_EV_PROG_CALL, prog, f->chain_id, f->upc, d, 0, f->regs);
#ifdef HIKE_VM_DYNAMIC_DISPATCH
	bpf_tail_call(ctx, &hvm_hprog_map, prog);
#else
	switch (prog) {
	TC1(1) TC2(2) TC4(4) TC8(8) TC16(16) TC32(32) TC64(64) TC128(128)
	}
#endif
	/* an empty slot (or a loader that entered the VM other than by one tail call) */
	return hvm_abort(on, HVM_ERR_NO_PROG, f, f->upc, d);
}

char _license[] SEC("license") = "Dual MIT/GPL";
