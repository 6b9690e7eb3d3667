/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Raw tail-call pipelines for the call-cost benchmark: tc_entry tail-calls slot 1 of
 * tc_progs, tc_sK tail-calls slot K+1 (constant keys); an empty slot ends with XDP_PASS.
 * Filling slots 1..N gives a pipeline of N tail calls after the entry; so does starting at
 * tc_s(8-N) with slots 1..8 filled (the bench: no slot changes between its cases). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 16);
} tc_progs SEC(".maps");

#define STAGE(name, next)						\
SEC("xdp") int name(struct xdp_md *ctx)					\
{									\
	bpf_tail_call_static(ctx, &tc_progs, next);			\
	return XDP_PASS;						\
}

STAGE(tc_entry, 1)
STAGE(tc_s1, 2)
STAGE(tc_s2, 3)
STAGE(tc_s3, 4)
STAGE(tc_s4, 5)
STAGE(tc_s5, 6)
STAGE(tc_s6, 7)
STAGE(tc_s7, 8)
STAGE(tc_s8, 9)

char _license[] SEC("license") = "Dual MIT/GPL";
