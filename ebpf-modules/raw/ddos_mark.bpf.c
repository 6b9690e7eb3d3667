/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The original HIKe evaluation's "DDoS marking" pipeline without HIKe: classifier -> mark the
 * packet Congestion Experienced -> count it -> forward it through the kernel FIB, four
 * separately verified XDP programs chained by hand with constant-key tail calls through
 * mark_progs. Each stage does the work of its HIKe counterpart (ip6_simple_classifier,
 * ip6_set_ecn, monitor(0), ip6_kroute), so `eclat-lab bench` can compare the chain
 * {ip6_set_ecn; monitor; ip6_kroute} with it. */
#include <hike/hike.h>
#include <hike/parse.h>
#include <hike/route.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4);
} mark_progs SEC(".maps");

/* event -> packets, like monitor's map */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} mark_mon SEC(".maps");

/* the IPv6 header, or NULL for anything else */
static __always_inline struct ipv6hdr *mark_ip6(struct xdp_md *ctx, struct ethhdr **eth)
{
	*eth = hike_pkt_ptr(ctx, 0, sizeof(**eth));
	if (!*eth || (*eth)->h_proto != bpf_htons(ETH_P_IPV6))
		return 0;
	return hike_pkt_ptr(ctx, sizeof(**eth), sizeof(struct ipv6hdr));
}

SEC("xdp")
int mark_classifier(struct xdp_md *ctx)
{
	struct ethhdr *eth;

	if (!mark_ip6(ctx, &eth))
		return XDP_PASS;
	bpf_tail_call_static(ctx, &mark_progs, 1);
	return XDP_PASS;
}

SEC("xdp")
int mark_set_ecn(struct xdp_md *ctx)
{
	struct ethhdr *eth;
	__u8 *ip6 = (__u8 *)mark_ip6(ctx, &eth);

	if (ip6)
		ip6[1] |= 0x30;
	bpf_tail_call_static(ctx, &mark_progs, 2);
	return XDP_PASS;
}

SEC("xdp")
int mark_monitor(struct xdp_md *ctx)
{
	__u32 ev = 0;
	__u64 one = 1, *cnt = bpf_map_lookup_elem(&mark_mon, &ev);

	if (cnt)
		*cnt += 1;
	else
		bpf_map_update_elem(&mark_mon, &ev, &one, BPF_NOEXIST);
	bpf_tail_call_static(ctx, &mark_progs, 3);
	return XDP_PASS;
}

SEC("xdp")
int mark_kroute(struct xdp_md *ctx)
{
	struct ethhdr *eth;
	struct ipv6hdr *ip6 = mark_ip6(ctx, &eth);

	if (!ip6)
		return XDP_PASS;
	return hike_ip6_fib_forward(ctx, eth, ip6);
}

char _license[] SEC("license") = "Dual MIT/GPL";
