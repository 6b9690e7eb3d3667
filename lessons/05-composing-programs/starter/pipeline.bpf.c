/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Lesson 5: a hand-made pipeline of three XDP programs chained with tail calls:
 *   pipe_classifier --slot 1--> pipe_set_ecn --slot 2--> pipe_monitor
 * A tail call that finds its slot empty does not fail loudly: execution simply continues
 * after bpf_tail_call(). As shipped, both stages then let the packet through, unmonitored.
 * Exercise: make them fail closed - count the miss in pipe_errors[slot] and drop. */
#include <hike/hike.h>
#include <hike/parse.h>

/* the pipeline's wiring: slot -> program (filled by user space) */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4);
} pipe_progs SEC(".maps");

/* verdict -> packets (0 = PASS), like HIKe's monitor */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} pipe_mon SEC(".maps");

/* slot -> tail calls that found the slot empty */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} pipe_errors SEC(".maps");

/* Counts one miss of `slot`. */
static __always_inline void count_miss(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&pipe_errors, &slot);

	if (n)
		*n += 1;
}

SEC("xdp")
int pipe_classifier(struct xdp_md *ctx)
{
	struct ethhdr *eth = hike_pkt_ptr(ctx, 0, sizeof(*eth));

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;	/* not for this pipeline */
	bpf_tail_call_static(ctx, &pipe_progs, 1);
	/* only reached when slot 1 is empty */
	return XDP_PASS;
}

SEC("xdp")
int pipe_set_ecn(struct xdp_md *ctx)
{
	__u8 *ip6 = hike_pkt_ptr(ctx, sizeof(struct ethhdr), sizeof(struct ipv6hdr));

	if (ip6)
		ip6[1] |= 0x30;		/* ECN = CE (bits 4-5 of the second byte) */
	bpf_tail_call_static(ctx, &pipe_progs, 2);
	/* only reached when slot 2 is empty */
	return XDP_PASS;
}

SEC("xdp")
int pipe_monitor(struct xdp_md *ctx)
{
	__u32 ev = 0;
	__u64 one = 1, *cnt = bpf_map_lookup_elem(&pipe_mon, &ev);

	if (cnt)
		*cnt += 1;
	else
		bpf_map_update_elem(&pipe_mon, &ev, &one, BPF_NOEXIST);
	return XDP_PASS;
}

char _license[] SEC("license") = "Dual MIT/GPL";
