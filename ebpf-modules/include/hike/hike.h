/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* HIKe core definitions shared by the VM, modules and loaders: layouts of the system maps
 * (hike.md section 5), the MMU banks (section 4) and the limits (section 8). */
#ifndef HIKE_HIKE_H
#define HIKE_HIKE_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "vm_abi.h"

#define HIKE_MAX_PROGRAMS	256
#define HIKE_MAX_CHAINS		128
#define HIKE_MAX_INSNS		64	/* instruction slots per chain; lddw takes 2 */
#define HIKE_BURST_BUDGET	64	/* interpreted instructions between two program calls */
#define HIKE_MAX_FRAMES		8	/* frame 0 is the bootstrap frame */
#define HIKE_STACK_SIZE		128
#define HIKE_SHMEM_USER_SIZE	4096
#define HIKE_SHMEM_SIZE		8192

/* Element IDs: bit 30 set = chain, otherwise a program ID 0..255. */
#define HIKE_CHAIN_FLAG		(1U << 30)
#define HIKE_IS_CHAIN(id)	(((id) & HIKE_CHAIN_FLAG) != 0)

/* Slot of hvm_hprog_map that holds the VM itself. Program IDs handed to modules start at 1. */
#define HIKE_VM_PROG_ID		0

/* A program returning a value that is not an XDP verdict (0..4) resumes the calling chain. */
#define HIKE_XDP_VM		(XDP_REDIRECT + 100)

/* Compiled chains (the VM's second tier, installed by the control plane when a chain is
 * stored; see api.h and eclat_kernel::hike::jit): hvm_jit_map holds, in slot n of chain
 * (HIKE_CHAIN_FLAG | n) for n <= HIKE_JIT_ENTRY_MASK, the instance of the chain's first call
 * (which starts the chain), and in slots HIKE_JIT_FIRST_INSTANCE.. the program instances of
 * its other call sites. Chains with a larger n have no entry slot: they are interpreted. */
#define HIKE_JIT_SLOTS		256
#define HIKE_JIT_ENTRY_MASK	127
#define HIKE_JIT_FIRST_INSTANCE	128
/* A compiled chain's frame PC: outside every chain, so that the VM aborts such a frame if it
 * ever resumes it (a program whose epilogue predates compiled chains). */
#define HIKE_JIT_UPC		0xffff

/* The VM's call helpers: `call imm` with imm = id << 8. */
#define HIKE_CALL_ELEM_0	(0x11 << 8)
#define HIKE_CALL_ELEM_1	(0x12 << 8)
#define HIKE_CALL_ELEM_2	(0x13 << 8)
#define HIKE_CALL_ELEM_3	(0x14 << 8)

/* MMU: virtual address = bank:8 | offset:24. */
#define HIKE_MMU_BANK_ZERO	0
#define HIKE_MMU_BANK_PACKET	1
#define HIKE_MMU_BANK_PRIVATE	2
#define HIKE_MMU_BANK_PCPU_SHMEM 3
#define HIKE_MMU_BANK_STACK	4
#define HIKE_MMU_ADDR(bank, off) ((((__u32)(bank)) << 24) | ((__u32)(off) & 0xffffff))
#define HIKE_MMU_PACKET_LEN	HIKE_MMU_ADDR(HIKE_MMU_BANK_PACKET, 0)
#define HIKE_MMU_PACKET_DATA	HIKE_MMU_ADDR(HIKE_MMU_BANK_PACKET, 8)
#define HIKE_MMU_PACKET_MASK	0x3fff
#define HIKE_MMU_PCPU_SHMEM	HIKE_MMU_ADDR(HIKE_MMU_BANK_PCPU_SHMEM, 0)
#define HIKE_MMU_FP		HIKE_MMU_ADDR(HIKE_MMU_BANK_STACK, HIKE_STACK_SIZE)

/* struct hike_chain, 768 bytes: both the stored chain (hvm_chain_map value: chain_id,
 * ninsn, gen and insns filled) and an execution frame (all fields). */
struct hike_chain {
	__u32 chain_id;			/*   0 */
	__u16 ninsn;			/*   4 instructions used */
	__u16 upc;			/*   6 PC (next instruction) */
	__u64 regs[11];			/*   8 r0..r10 */
	/* 96: the original's padding. Ours: the store generation, written by the control plane
	 * on every store (never 0). A frame caches the instructions of the chain it last ran;
	 * the cache is valid only while (chain_id, gen) match the stored chain, so re-storing
	 * a chain under the same ID is seen by every CPU on its next entry. */
	__u64 gen;			/*  96 */
	/* 104: in a frame, pad[0] = the store epoch the frame last checked (the VM's cache);
	 * in a stored chain, pad[1..2] = the bitmap of the hvm_jit_map instance slots of its
	 * compiled form (bit k: slot HIKE_JIT_FIRST_INSTANCE + k; the VM never reads it) */
	__u64 pad[3];			/* 104 */
	__u8 stack[HIKE_STACK_SIZE];	/* 128 */
	__u64 insns[HIKE_MAX_INSNS];	/* 256 struct bpf_insn, as raw u64 */
};					/* 768 */

/* A frame's registers as a chain starts: r0..r4 as given (r1 = the chain's own ID), r5..r9
 * zero, r10 the frame pointer. The VM's chain entry and a compiled chain's start use it. */
static __always_inline void hike_frame_regs(struct hike_chain *f, __u64 r0, __u64 r1,
					    __u64 r2, __u64 r3, __u64 r4)
{
	f->regs[0] = r0;
	f->regs[1] = r1;
	f->regs[2] = r2;
	f->regs[3] = r3;
	f->regs[4] = r4;
	f->regs[5] = 0;
	f->regs[6] = 0;
	f->regs[7] = 0;
	f->regs[8] = 0;
	f->regs[9] = 0;
	f->regs[10] = HIKE_MMU_FP;
}

/* Per-CPU chain data, 6160 bytes: u16 active frame, padding to 16, 8 frames. */
struct hike_cdata {
	__u16 active;			/* 0: active frame index; 0 = bootstrap */
	__u16 flags;			/* 2: the VM: trace on for this packet */
	__u32 boot_id;			/* 4: chain a loader asks the VM to start */
	__u32 calls;			/* 8: program calls made for this packet */
	__u32 reserved;			/* 12 */
	struct hike_chain frames[HIKE_MAX_FRAMES];	/* 16 */
};

/* pkt_info: at offset 0 of the per-CPU shared memory (user part). */
#define HIKE_PKT_INFO_UNSET	0x3fff
struct hike_pkt_info {
	__s32 dataoff;
	__s32 mhoff;	/* L2 */
	__s32 nhoff;	/* L3 */
	__s32 thoff;	/* L4 */
	__u8 scratch[48];
};

struct hike_shmem {
	union {
		struct hike_pkt_info pkt_info;
		__u8 user[HIKE_SHMEM_USER_SIZE];
	};
	__u8 vm[HIKE_SHMEM_SIZE - HIKE_SHMEM_USER_SIZE];	/* reserved for the VM */
};

/* The system maps (the original's four, and hvm_jit_map). Every object declares the ones it uses; the control plane re-binds
 * them to the one shared instance pinned at <root>/maps/system/<name>. */
#define HIKE_DECLARE_HPROG_MAP							\
	struct {								\
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);				\
		__type(key, __u32);						\
		__type(value, __u32);						\
		__uint(max_entries, HIKE_MAX_PROGRAMS);				\
	} hvm_hprog_map SEC(".maps")

#define HIKE_DECLARE_CHAIN_MAP							\
	struct {								\
		__uint(type, BPF_MAP_TYPE_HASH);				\
		__type(key, __u32);						\
		__type(value, struct hike_chain);				\
		__uint(max_entries, HIKE_MAX_CHAINS);				\
	} hvm_chain_map SEC(".maps")

#define HIKE_DECLARE_JIT_MAP							\
	struct {								\
		__uint(type, BPF_MAP_TYPE_PROG_ARRAY);				\
		__type(key, __u32);						\
		__type(value, __u32);						\
		__uint(max_entries, HIKE_JIT_SLOTS);				\
	} hvm_jit_map SEC(".maps")

/* The VM's own maps that programs use too (compiled chains count their aborts and read the
 * trace switch); the layouts are in vm_abi.h. */
#define HVM_DECLARE_CONFIG_MAP							\
	struct {								\
		__uint(type, BPF_MAP_TYPE_ARRAY);				\
		__type(key, __u32);						\
		__type(value, struct hvm_config);				\
		__uint(max_entries, 1);						\
	} hvm_config SEC(".maps")

#define HVM_DECLARE_STATS_MAP							\
	struct {								\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);			\
		__type(key, __u32);						\
		__type(value, __u64);						\
		__uint(max_entries, HVM_STAT_MAX);				\
	} hvm_stats SEC(".maps")

#define HIKE_DECLARE_CDATA_MAP							\
	struct {								\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);			\
		__type(key, __u32);						\
		__type(value, struct hike_cdata);				\
		__uint(max_entries, 1);						\
	} hvm_cdata_map SEC(".maps")

#define HIKE_DECLARE_SHMEM_MAP							\
	struct {								\
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);			\
		__type(key, __u32);						\
		__type(value, struct hike_shmem);				\
		__uint(max_entries, 1);						\
	} hvm_shmem_map SEC(".maps")

#endif
