/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* What the VM reports to user space: abort reasons (hvm_stats index), trace events
 * (hvm_trace ring buffer) and its configuration (hvm_config[0]). eclat-kernel mirrors these. */
#ifndef HIKE_VM_ABI_H
#define HIKE_VM_ABI_H

#include <linux/types.h>

enum hvm_error {
	HVM_OK = 0,
	HVM_ERR_INTERNAL = 1,		/* no per-CPU chain data */
	HVM_ERR_NO_CHAIN = 2,		/* unknown chain ID (or a non-chain ID to boot) */
	HVM_ERR_DEPTH = 3,		/* more than 7 nested chains */
	HVM_ERR_BUDGET = 4,		/* 64 instructions without a program call */
	HVM_ERR_OPCODE = 5,		/* an instruction outside the chain subset */
	HVM_ERR_MEM = 6,		/* MMU fault: bank, bounds or packet end */
	HVM_ERR_PC = 7,			/* PC outside the chain */
	HVM_ERR_PROG_ID = 8,		/* program ID 0 or >= 256, or ID above 32 bits */
	HVM_ERR_NO_PROG = 9,		/* empty program slot */
	HVM_ERR_BOOTSTRAP = 10,		/* the chain returned to the bootstrap frame: drop by default */
	HVM_ERR_REG = 11,		/* register above r10, or a write to r10 */
	HVM_ERR_TAIL_CALL_LIMIT = 12,	/* the kernel's limit of 33 tail calls per packet */
	HVM_STAT_MAX = 16,
};

/* Each program call costs two tail calls (VM -> program -> VM) and the loader's entry one:
 * 1 + 2 * 16 = 33 tail calls, the kernel's MAX_TAIL_CALL_CNT. */
#define HVM_MAX_PROG_CALLS 16

enum hvm_event_kind {
	HVM_EV_CHAIN_ENTER = 1,
	HVM_EV_CHAIN_EXIT = 2,
	HVM_EV_PROG_CALL = 3,
	HVM_EV_PROG_RET = 4,
	HVM_EV_ABORT = 5,
};

struct hvm_trace_event {
	__u64 ts;
	__u32 kind;
	__u32 elem;	/* chain or program ID */
	__u32 chain;	/* chain executing */
	__u16 pc;
	__u8 depth;
	__u8 reason;	/* enum hvm_error for HVM_EV_ABORT */
	__u64 r[5];	/* r0..r4 of the frame */
};	/* 64 bytes */

struct hvm_config {
	__u32 trace;	/* non-zero: emit hvm_trace events */
	/* the test clock, ms (named `reserved` so that the objects' BTF stays as it was):
	 * non-zero, the time programs read through hike_now_ns() (token buckets, blacklist
	 * expiry, gaps between packets); 0, the kernel's clock. Tests stop and advance it to
	 * make time-dependent verdicts exact; `eclat-lab test --clock` sets it in its scratch
	 * instance. */
	__u32 reserved;
	/* store epoch: the control plane sets it to a new value after every store or delete
	 * of a chain. A frame whose cached (chain ID, epoch) still match skips the chain-map
	 * lookup; 0 disables the shortcut. */
	__u64 epoch;
};

#endif
