/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The HIKe module API (hike.md section 6): what a module or loader author writes.
 *
 *   #include <hike/api.h>
 *   bpf_map(my_map, HASH, __u32, __u64, 64);
 *   HIKE_PROG(my_prog) {                 // ctx and the caller frame's registers are in scope
 *           __u64 arg = HVM_ARG2;         // HVM_ARG1 = own program ID, HVM_ARG2.. = user args
 *           HVM_RET = arg + 1;            // the chain sees this in r0
 *           return HIKE_XDP_VM;           // continue the chain; return XDP_xxx = final verdict
 *   }
 *   EXPORT_HIKE_PROG_2(my_prog, __u64, arg);
 *   EXPORT_HIKE_PROG_MAP(my_prog, my_map);
 *
 * How a program runs: the VM (one XDP program, slot HIKE_VM_PROG_ID = 0 of hvm_hprog_map)
 * tail-calls the program's slot; the entry point emitted by EXPORT_HIKE_PROG* finds the caller
 * frame in hvm_cdata_map, runs the body, and either returns the final verdict (0..4) or
 * tail-calls the VM back through slot 0 with a constant key (a direct jump once JITed); an
 * instance of the program in a compiled chain runs the hand-over stamped into it instead (see
 * "Compiled chains" below). A module therefore carries a prologue and an epilogue, never the
 * interpreter.
 *
 * Entry points live in ELF section "xdp" (aya 0.14 accepts "xdp" and refuses "xdp/<name>"
 * unless <name> is cpumap/devmap); the program's name is its function name.
 *
 * BTF encoding of the metadata (read by eclat-kernel, no second manifest). Each record is a
 * global variable in the non-loadable data section ".hike.meta" (aya and the kernel ignore
 * the bytes; only the BTF VAR/DATASEC matter):
 *   __hike_prog__<prog>      struct with a first member `__hike_sig` (u8), then one member
 *                            per user argument, in order, named and typed as declared
 *   __hike_final__<prog>     present when the program always ends the journey
 *                            (EXPORT_HIKE_FINAL); absent = the program continues the chain
 *   __hike_verdict__<prog>   a verdict program (HIKE_VERDICT_PROG): of type enum
 *                            __hike_verdict__<prog> whose only enumerator holds its action
 *   __hike_pmap__<prog>__<map>   struct { __u8 <prog>; __u8 <map>; }: <prog> owns <map>
 *   __hike_loader__<loader>  marks an XDP program as a loader (EXPORT_HIKE_LOADER)
 *   __hike_lmap__<loader>__<map> struct { __u8 <loader>; __u8 <map>; }: loader owns map
 *   __hike_const__<NAME>     of type enum __hike_const__<NAME> whose only enumerator
 *                            __hike_const_val__<NAME> holds the value (ENUM or ENUM64)
 *   __hike_alias__<alias>    struct { __u8 __hike_pkg__<package>; __u8 __hike_name__<name>; }:
 *                            <alias> is another import path of program <package>.<name>
 *                            (EXPORT_HIKE_ALIAS)
 * Map key and value types come from the map's own BTF definition in ".maps".
 */
#ifndef HIKE_API_H
#define HIKE_API_H

#include "hike.h"
#include "vm_abi.h"

#ifndef SEC
#define SEC(name) __attribute__((section(name), used))
#endif

HIKE_DECLARE_HPROG_MAP;
HIKE_DECLARE_JIT_MAP;
HIKE_DECLARE_CDATA_MAP;
HIKE_DECLARE_SHMEM_MAP;

/* bpf_map(name, TYPE, key_type, value_type, max_entries), TYPE without BPF_MAP_TYPE_. */
#define bpf_map(name, _type, key_type, val_type, max)				\
	struct {								\
		__uint(type, BPF_MAP_TYPE_##_type);				\
		__type(key, key_type);						\
		__type(value, val_type);					\
		__uint(max_entries, max);					\
	} name SEC(".maps")

#define HIKE_PROG(name)								\
	static __always_inline int __hike_body_##name(struct xdp_md *ctx,	\
			struct hike_chain *const __hike_frame)

/* The caller frame's registers (lvalues). */
#define HVM_ARG1	(__hike_frame->regs[1])
#define HVM_ARG2	(__hike_frame->regs[2])
#define HVM_ARG3	(__hike_frame->regs[3])
#define HVM_ARG4	(__hike_frame->regs[4])
#define HVM_RET		(__hike_frame->regs[0])

/* HIKE_BODIES_ONLY, defined before including a module's source: keep its program bodies
 * (HIKE_PROG) and maps, drop its entry points and metadata (raw/ddos_inline.bpf.c calls
 * the bodies of several modules from one program). */
#ifndef HIKE_BODIES_ONLY
#define __HIKE_META SEC(".hike.meta")
#else
#define __HIKE_META static __attribute__((unused))
#endif

/* Compiled chains (the VM's second tier; eclat_kernel::hike::jit). The control plane loads,
 * for every program call of a compiled chain, an instance of the called program: its
 * __hike_cont (read-only data, fixed at load time) says that it is an instance, and, in its
 * copy of the object, the control plane has stamped over the two templates below the code
 * of that one call site: what the chain does after the call (optionally copy r0 into a
 * register, optionally test a register against a constant, then, on each way, store
 * constants into registers and tail-call the next instance, a slot of hvm_jit_map, or
 * abort), and for the chain's first call, how the chain starts. An ordinary program
 * (__hike_cont all zero) keeps only the return to the VM: the verifier deletes the
 * templates. A chain's instance goes straight on to the next program, one tail call per
 * program call, with a hand-over as short as one written by hand. The fields of
 * struct hike_cont beyond on, entry and chain_id describe the stamped code (the control
 * plane's record of it). */
#define HIKE_CONT_MOVES		4
#define HIKE_CONT_CALL		1	/* way kind: tail-call `slot` */
#define HIKE_CONT_ABORT		2	/* way kind: abort with reason `slot` */
#define HIKE_CONT_VERDICT	3	/* way kind: a verdict program's call, folded: return the
					 * XDP action `slot` */
#define HIKE_CONT_JEQ		1
#define HIKE_CONT_JNE		2

struct hike_cont_way {
	__u32 kind;
	__u32 slot;
	__u32 nmov;
	__u32 reg[HIKE_CONT_MOVES];
	__u32 pad;
	__s64 imm[HIKE_CONT_MOVES];
};	/* 64 bytes */

struct hike_cont {
	__u32 on;		/* 0: an ordinary instance, back to the VM */
	__u32 save;		/* 1..9: r<save> = r0 first */
	__u32 test;		/* HIKE_CONT_JEQ / JNE: way[1] when r<test_reg> ==/!= test_imm */
	__u32 test_reg;
	__s64 test_imm;
	struct hike_cont_way way[2];	/* [0] fall through, [1] the jump taken */
	__u32 count;		/* count calls against HVM_MAX_PROG_CALLS (0: the compiler
				 * proved that no path of the chain makes that many) */
	__u32 entry;		/* the chain's first call: this instance starts chain_id */
	__u32 chain_id;
	__u32 link;		/* HIKE_LINK_HEAD / HIKE_LINK_PART, below (0: neither) */
	struct hike_cont_way first;	/* its moves: the chain up to this call */
};	/* 232 bytes */

volatile const struct hike_cont __hike_cont = {};

/* A linked chain (all its calls' code in one program, hike::link) looks the per-CPU chain
 * data and shared memory up once: its first part keeps the two pointers in the two deepest
 * slots of the stack, which the program's parts share, and every later part, reached by a
 * jump, reads them there instead of calling the helper again. The control plane sets
 * `link` only when no part's own code reaches those slots (it reads every part's stack
 * accesses); each access of a slot below follows a `goto +0` (deleted by the verifier), which
 * is how it tells them from the parts' own. The verifier checks the pointers' types as for
 * any spilled register. */
#define HIKE_LINK_HEAD		1	/* the first part: look up, then keep the pointers */
#define HIKE_LINK_PART		2	/* a later part: read the pointers */
#define HIKE_LINK_CDATA_SLOT	-512
#define HIKE_LINK_SHMEM_SLOT	-504

#define __hike_slot_get(slot) ({						\
	void *__p;								\
	asm volatile("goto +0\n\t%[p] = *(u64 *)(r10 %[off])"			\
		     : [p]"=r"(__p) : [off]"i"(slot));				\
	__p; })

static __always_inline void *hike_pcpu_shmem(void)
{
	__u32 zero = 0;

	if (__hike_cont.link)
		return __hike_slot_get(HIKE_LINK_SHMEM_SLOT);
	return bpf_map_lookup_elem(&hvm_shmem_map, &zero);
}

static __always_inline struct hike_pkt_info *hike_pcpu_pkt_info(void)
{
	return (struct hike_pkt_info *)hike_pcpu_shmem();
}

/* The per-CPU chain data: the linked program's slot in a later part, else the helper. */
static __always_inline struct hike_cdata *__hike_pcpu_cdata(void)
{
	__u32 zero = 0;

	if (__hike_cont.link == HIKE_LINK_PART)
		return __hike_slot_get(HIKE_LINK_CDATA_SLOT);
	return bpf_map_lookup_elem(&hvm_cdata_map, &zero);
}

/* The VM's abort counters and configuration, shared with compiled chains. */
HVM_DECLARE_STATS_MAP;
HVM_DECLARE_CONFIG_MAP;

/* The VM's configuration (hvm_config[0]). Every part of a linked program reads it in place:
 * the control plane turns the load of the map after the `goto +0` into the address of the
 * map's only value (an array of one entry has one, as a global variable does), so no helper
 * call, no key and no NULL test (the verifier knows the address). Anywhere else (an ordinary
 * program, an instance, a part of a program whose parts do not share: link 0), the helper. */
static __always_inline struct hvm_config *__hike_config(void)
{
	__u32 zero = 0;

	if (__hike_cont.link) {
		struct hvm_config *cfg;

		asm volatile("goto +0\n\t%[cfg] = %[map] ll"
			     : [cfg]"=r"(cfg) : [map]"i"(&hvm_config));
		return cfg;
	}
	return bpf_map_lookup_elem(&hvm_config, &zero);
}

static __always_inline int __hike_cont_abort(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&hvm_stats, &reason);

	if (n)
		*n += 1;
	return XDP_ABORTED;
}

/* The padding of the stamped templates below: `goto +0`, deleted by the verifier. */
#define __HIKE_NOP4	"goto +0\n\tgoto +0\n\tgoto +0\n\tgoto +0\n\t"
#define __HIKE_NOP8	__HIKE_NOP4 __HIKE_NOP4
#define __HIKE_NOP32	__HIKE_NOP8 __HIKE_NOP8 __HIKE_NOP8 __HIKE_NOP8
#define __HIKE_NOP56	__HIKE_NOP32 __HIKE_NOP8 __HIKE_NOP8 __HIKE_NOP8

/* The stamped prologue of a compiled chain's first instance: frame 1's registers as the
 * chain has them at its first call. The control plane writes over the marker and padding
 * (r6 = &frame 1's regs) the stores of those constants: the VM's start (r0 = 0, r1 = the
 * chain's ID, r2..r9 = 0, r10 = the frame pointer) with the chain's moves up to that call
 * applied (hike::jit::prologue). Part of the ABI, like the epilogue's template:
 * hike::jit::PROLOGUE_SLOTS and PROLOGUE_MAGIC. */
#define HIKE_PROLOGUE_MAGIC	0x4c4f52505f454b48ULL	/* "HKE_PROL" */

static __always_inline void __hike_stamped_prologue(struct hike_chain *f)
{
	void *regs = &f->regs[0];

	asm volatile("r6 = %[regs]\n\t"
		     "r0 = %[magic] ll\n\t"
		     __HIKE_NOP32
		     : [regs]"+r"(regs)
		     : [magic]"i"(HIKE_PROLOGUE_MAGIC)
		     : "r0", "r6", "memory");
}

/* The first call of a compiled chain, reached from the loader through the chain's entry slot
 * (only this chain has it). While the trace is on (the trace is the interpreter's), the VM
 * starts the chain instead. Otherwise set frame 1 up as the VM does (r0 = 0, r1 = the chain's
 * ID, r2..r9 = 0, r10 = the frame pointer; a PC outside every chain, so that the VM aborts
 * the frame if it ever resumes it) with the chain's moves up to this call: the stamped
 * prologue stores the registers. Returns -1 to go on with the program, or the packet's
 * verdict. */
static __always_inline int __hike_cont_enter(struct xdp_md *ctx, struct hike_cdata *cd)
{
	const volatile struct hike_cont *c = &__hike_cont;
	struct hike_chain *f = &cd->frames[1];
	__u32 zero = 0;
	struct hvm_config *cfg;

	cd->boot_id = c->chain_id;
	cfg = __hike_config();
	if (cfg && cfg->trace) {
		cd->active = 0;
		bpf_tail_call_static(ctx, &hvm_hprog_map, HIKE_VM_PROG_ID);
		return XDP_ABORTED;
	}
	cd->active = 1;
	cd->flags = 0;
	cd->calls = 1;
	f->upc = HIKE_JIT_UPC;
	__hike_stamped_prologue(f);
	if (c->link == HIKE_LINK_HEAD) {
		void *shm = bpf_map_lookup_elem(&hvm_shmem_map, &zero);

		if (!shm)
			return XDP_ABORTED;
		asm volatile("goto +0\n\t*(u64 *)(r10 %[cs]) = %[cd]\n\t"
			     "goto +0\n\t*(u64 *)(r10 %[ss]) = %[shm]"
			     :: [cd]"r"(cd), [shm]"r"(shm),
				[cs]"i"(HIKE_LINK_CDATA_SLOT), [ss]"i"(HIKE_LINK_SHMEM_SLOT));
	}
	return -1;
}

/* The stamped epilogue of a compiled chain's instance. The template below is what clang
 * emits; when the control plane loads an instance it overwrites the template's marker and
 * padding, in its copy of the object, with the instructions of that one call site
 * (eclat_kernel::hike::stamp, generated by hike::jit::epilogue), so an instance hands over
 * exactly as a program written by hand for that place of the chain would:
 *   r6 = &frame 1's regs, r7 = the chain data, r8 = ctx, r9 = hvm_jit_map (fixed here);
 *   optionally r<save> = r0, optionally test a register against a constant, then on each
 *   way: abort, or store constants into registers, count the call, and either return the
 *   folded verdict program's action or tail-call the next instance (a constant key).
 * Every way that cannot go on leaves an abort reason in r0 and falls out of the template,
 * into the C code below it. The padding the instance does not need stays `goto +0`, which the
 * verifier deletes, like the whole template of an ordinary instance (__hike_cont.on == 0).
 * The template's size and marker are part of the ABI: hike::jit::EPILOGUE_SLOTS and
 * EPILOGUE_MAGIC. */
#define HIKE_EPILOGUE_MAGIC	0x4c4950455f454b48ULL	/* "HKE_EPIL" */
#define HIKE_EPILOGUE_PAD	56	/* + the 2 slots of the marker = 58 */


static __always_inline int __hike_stamped_epilogue(struct xdp_md *ctx, struct hike_cdata *cd,
						   struct hike_chain *f)
{
	/* "+r": the stamped code may change every register but r10 */
	void *regs = &f->regs[0], *c = ctx, *data = cd;
	__u64 reason = HVM_ERR_INTERNAL;

	asm volatile("r6 = %[regs]\n\t"
		     "r7 = %[data]\n\t"
		     "r8 = %[ctx]\n\t"
		     "r9 = %[map] ll\n\t"
		     "r0 = %[magic] ll\n\t"
		     __HIKE_NOP56
		     "%[reason] = r0"
		     : [regs]"+r"(regs), [data]"+r"(data), [ctx]"+r"(c), [reason]"+r"(reason)
		     : [map]"i"(&hvm_jit_map), [magic]"i"(HIKE_EPILOGUE_MAGIC)
		     : "r0", "r6", "r7", "r8", "r9", "memory");
	/* an abort reason; a marker value (never stamped) is out of hvm_stats: not counted */
	return __hike_cont_abort((__u32)reason);
}

/* Back to the caller: the next program of a compiled chain, or the VM. */
static __always_inline int __hike_return(struct xdp_md *ctx, struct hike_cdata *cd,
					 struct hike_chain *f)
{
	if (__hike_cont.on)
		return __hike_stamped_epilogue(ctx, cd, f);
	bpf_tail_call_static(ctx, &hvm_hprog_map, HIKE_VM_PROG_ID);
	return XDP_ABORTED;
}

#ifdef HIKE_BODIES_ONLY
#define __HIKE_ENTRY(name)
#else
#define __HIKE_ENTRY(name)							\
SEC("xdp") int name(struct xdp_md *ctx)					\
{										\
	struct hike_cdata *__cd = __hike_pcpu_cdata();				\
	struct hike_chain *__f;							\
	int __rc;								\
										\
	if (!__cd)								\
		return XDP_ABORTED;						\
	if (__hike_cont.entry) {						\
		__rc = __hike_cont_enter(ctx, __cd);				\
		if (__rc >= 0)							\
			return __rc;						\
	}									\
	/* an instance of a compiled chain runs in frame 1 */			\
	if (__hike_cont.on)							\
		__f = &__cd->frames[1];						\
	else									\
		__f = &__cd->frames[__cd->active & (HIKE_MAX_FRAMES - 1)];	\
	__rc = __hike_body_##name(ctx, __f);					\
	if ((__u32)__rc <= XDP_REDIRECT)					\
		return __rc;							\
	return __hike_return(ctx, __cd, __f);						\
}
#endif

#define EXPORT_HIKE_PROG(name)							\
	__HIKE_ENTRY(name)							\
	struct __hike_sig__##name { __u8 __hike_sig; };				\
	__HIKE_META struct __hike_sig__##name __hike_prog__##name

#define EXPORT_HIKE_PROG_2(name, t1, a1)					\
	__HIKE_ENTRY(name)							\
	struct __hike_sig__##name { __u8 __hike_sig; t1 a1; };			\
	__HIKE_META struct __hike_sig__##name __hike_prog__##name

#define EXPORT_HIKE_PROG_3(name, t1, a1, t2, a2)				\
	__HIKE_ENTRY(name)							\
	struct __hike_sig__##name { __u8 __hike_sig; t1 a1; t2 a2; };		\
	__HIKE_META struct __hike_sig__##name __hike_prog__##name

#define EXPORT_HIKE_PROG_4(name, t1, a1, t2, a2, t3, a3)			\
	__HIKE_ENTRY(name)							\
	struct __hike_sig__##name { __u8 __hike_sig; t1 a1; t2 a2; t3 a3; };	\
	__HIKE_META struct __hike_sig__##name __hike_prog__##name

/* The program always returns an XDP verdict: eCLAT treats a call to it as the chain's end. */
#define EXPORT_HIKE_FINAL(name)							\
	__HIKE_META __u8 __hike_final__##name

/* A verdict program: its whole body is `return action;` (an XDP action), nothing else. A
 * compiled chain folds a call of it into the instance before the call, which returns the
 * action itself (hike::jit). The macro writes the body, so the two cannot disagree.
 *   HIKE_VERDICT_PROG(hike_drop, XDP_DROP);
 * BTF: __hike_verdict__<prog> of type enum __hike_verdict__<prog>, whose only enumerator
 * __hike_verdict_val__<prog> holds the action. */
#define HIKE_VERDICT_PROG(name, action)						\
	HIKE_PROG(name)								\
	{									\
		return (action);						\
	}									\
	EXPORT_HIKE_PROG(name);							\
	EXPORT_HIKE_FINAL(name);						\
	enum __hike_verdict__##name { __hike_verdict_val__##name = (action) };	\
	__HIKE_META enum __hike_verdict__##name __hike_verdict__##name

#define EXPORT_HIKE_PROG_MAP(prog, map)						\
	struct __hike_pmap__##prog##__##map { __u8 prog; __u8 map; };		\
	__HIKE_META struct __hike_pmap__##prog##__##map __hike_pmap__##prog##__##map

#define EXPORT_HIKE_LOADER(loader)						\
	__HIKE_META __u8 __hike_loader__##loader

#define EXPORT_HIKE_MAP(loader, map)						\
	struct __hike_lmap__##loader##__##map { __u8 loader; __u8 map; };	\
	__HIKE_META struct __hike_lmap__##loader##__##map __hike_lmap__##loader##__##map

/* An alias: program <name> of package <package>, importable from this object's package as
 * <alias> too. It is the same program (one program ID, one set of maps), not a copy: eCLAT
 * resolves an import of the alias to <package>.<name>. The object needs no code for it.
 *   EXPORT_HIKE_ALIAS(hike_default, hike_drop);   programs.<this>.hike_drop
 * BTF: __hike_alias__<alias> of type struct __hike_alias__<alias> { __u8 __hike_pkg__<package>;
 * __u8 __hike_name__<name>; }. */
#define EXPORT_HIKE_ALIAS_AS(alias, package, name)				\
	struct __hike_alias__##alias {						\
		__u8 __hike_pkg__##package;					\
		__u8 __hike_name__##name;					\
	};									\
	__HIKE_META struct __hike_alias__##alias __hike_alias__##alias
#define EXPORT_HIKE_ALIAS(package, name) EXPORT_HIKE_ALIAS_AS(name, package, name)

#define EXPORT_HIKE_CONST(NAME)							\
	enum __hike_const__##NAME { __hike_const_val__##NAME = (NAME) };	\
	__HIKE_META enum __hike_const__##NAME __hike_const__##NAME

/* Constant-key tail calls into hvm_jit_map, one case per slot. */
#define __HIKE_JTC1(n)	case (n): bpf_tail_call_static(ctx, &hvm_jit_map, (n)); break;
#define __HIKE_JTC2(n)	__HIKE_JTC1(n) __HIKE_JTC1((n) + 1)
#define __HIKE_JTC4(n)	__HIKE_JTC2(n) __HIKE_JTC2((n) + 2)
#define __HIKE_JTC8(n)	__HIKE_JTC4(n) __HIKE_JTC4((n) + 4)
#define __HIKE_JTC16(n)	__HIKE_JTC8(n) __HIKE_JTC8((n) + 8)
#define __HIKE_JTC32(n)	__HIKE_JTC16(n) __HIKE_JTC16((n) + 16)
#define __HIKE_JTC64(n)	__HIKE_JTC32(n) __HIKE_JTC32((n) + 32)
#define __HIKE_JTC128(n) __HIKE_JTC64(n) __HIKE_JTC64((n) + 64)

/* Loaders: start chain_id in frame 1. The chain's compiled form when hvm_jit_map holds it in
 * the chain's entry slot (its first call's instance sets the chain data up), else the VM. */
static __always_inline int hike_chain_boot(struct xdp_md *ctx, __u32 chain_id)
{
	__u32 zero = 0, n = chain_id ^ HIKE_CHAIN_FLAG;
	struct hike_cdata *cd;

	if (n <= HIKE_JIT_ENTRY_MASK) {
		switch (n) {
		__HIKE_JTC128(0)
		}
	}
	cd = bpf_map_lookup_elem(&hvm_cdata_map, &zero);
	if (!cd)
		return XDP_ABORTED;
	cd->active = 0;
	cd->boot_id = chain_id;
	bpf_tail_call_static(ctx, &hvm_hprog_map, HIKE_VM_PROG_ID);
	/* the VM is not registered: nothing can run the chain */
	return XDP_ABORTED;
}

#endif
