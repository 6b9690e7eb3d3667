// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Lesson 1's program: count every packet that reaches the interface, then return the
 * verdict stored in the `verdict` map (XDP_PASS unless the learner flips it to XDP_DROP). */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

/* Packets seen, one slot per CPU: user space sums the slots. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} pkt_count SEC(".maps");

/* Key 0: the XDP action to return for every packet (0 ABORTED, 1 DROP, 2 PASS, 3 TX). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} verdict SEC(".maps");

SEC("xdp")
int xdp_counter(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *count = bpf_map_lookup_elem(&pkt_count, &key);
	__u32 *action;

	if (count)
		*count += 1; /* per-CPU slot: no atomic needed */

	action = bpf_map_lookup_elem(&verdict, &key);
	/* The lab writes XDP_PASS here when it loads the program. A redirect needs a
	 * target this program does not have, so anything above XDP_TX passes. */
	if (!action || *action > XDP_TX)
		return XDP_PASS;
	return *action;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
