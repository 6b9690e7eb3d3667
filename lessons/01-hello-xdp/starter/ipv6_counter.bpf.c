// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Lesson 1, exercise: this is xdp_counter, which counts every packet. Make it count only
 * IPv6 packets (Ethernet type 0x86DD), and still return the verdict for every packet. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

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
	/* An unset slot (0) passes, so the program also works where nobody wrote the map
	 * (the lesson's checks load it fresh). A redirect needs a target this program does
	 * not have, so anything above XDP_TX passes too. */
	if (!action || *action == XDP_ABORTED || *action > XDP_TX)
		return XDP_PASS;
	return *action;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
