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
 * tail-calls the VM back through slot 0 with a constant key (a direct jump once JITed). A
 * module therefore carries a prologue and an epilogue of a dozen instructions, never the
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
 *   __hike_pmap__<prog>__<map>   struct { __u8 <prog>; __u8 <map>; }: <prog> owns <map>
 *   __hike_loader__<loader>  marks an XDP program as a loader (EXPORT_HIKE_LOADER)
 *   __hike_lmap__<loader>__<map> struct { __u8 <loader>; __u8 <map>; }: loader owns map
 *   __hike_const__<NAME>     of type enum __hike_const__<NAME> whose only enumerator
 *                            __hike_const_val__<NAME> holds the value (ENUM or ENUM64)
 * Map key and value types come from the map's own BTF definition in ".maps".
 */
#ifndef HIKE_API_H
#define HIKE_API_H

#include "hike.h"

#ifndef SEC
#define SEC(name) __attribute__((section(name), used))
#endif

HIKE_DECLARE_HPROG_MAP;
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

static __always_inline void *hike_pcpu_shmem(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&hvm_shmem_map, &zero);
}

static __always_inline struct hike_pkt_info *hike_pcpu_pkt_info(void)
{
	return (struct hike_pkt_info *)hike_pcpu_shmem();
}

#define HIKE_PROG(name)								\
	static __always_inline int __hike_body_##name(struct xdp_md *ctx,	\
			struct hike_chain *const __hike_frame)

/* The caller frame's registers (lvalues). */
#define HVM_ARG1	(__hike_frame->regs[1])
#define HVM_ARG2	(__hike_frame->regs[2])
#define HVM_ARG3	(__hike_frame->regs[3])
#define HVM_ARG4	(__hike_frame->regs[4])
#define HVM_RET		(__hike_frame->regs[0])

#define __HIKE_META SEC(".hike.meta")

#define __HIKE_ENTRY(name)							\
SEC("xdp") int name(struct xdp_md *ctx)					\
{										\
	__u32 __zero = 0;							\
	struct hike_cdata *__cd = bpf_map_lookup_elem(&hvm_cdata_map, &__zero);	\
	int __rc;								\
										\
	if (!__cd)								\
		return XDP_ABORTED;						\
	__rc = __hike_body_##name(ctx,						\
		&__cd->frames[__cd->active & (HIKE_MAX_FRAMES - 1)]);		\
	if ((__u32)__rc <= XDP_REDIRECT)					\
		return __rc;							\
	bpf_tail_call_static(ctx, &hvm_hprog_map, HIKE_VM_PROG_ID);		\
	return XDP_ABORTED;							\
}

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

#define EXPORT_HIKE_PROG_MAP(prog, map)						\
	struct __hike_pmap__##prog##__##map { __u8 prog; __u8 map; };		\
	__HIKE_META struct __hike_pmap__##prog##__##map __hike_pmap__##prog##__##map

#define EXPORT_HIKE_LOADER(loader)						\
	__HIKE_META __u8 __hike_loader__##loader

#define EXPORT_HIKE_MAP(loader, map)						\
	struct __hike_lmap__##loader##__##map { __u8 loader; __u8 map; };	\
	__HIKE_META struct __hike_lmap__##loader##__##map __hike_lmap__##loader##__##map

#define EXPORT_HIKE_CONST(NAME)							\
	enum __hike_const__##NAME { __hike_const_val__##NAME = (NAME) };	\
	__HIKE_META enum __hike_const__##NAME __hike_const__##NAME

/* Loaders: hand the packet to the VM, which starts chain_id in frame 1. */
static __always_inline int hike_chain_boot(struct xdp_md *ctx, __u32 chain_id)
{
	__u32 zero = 0;
	struct hike_cdata *cd = bpf_map_lookup_elem(&hvm_cdata_map, &zero);

	if (!cd)
		return XDP_ABORTED;
	cd->active = 0;
	cd->boot_id = chain_id;
	bpf_tail_call_static(ctx, &hvm_hprog_map, HIKE_VM_PROG_ID);
	/* the VM is not registered: nothing can run the chain */
	return XDP_ABORTED;
}

#endif
