/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Lesson 5's hand-made composition: classifier -> set ECN -> monitor, chained with raw tail
 * calls through pipe_progs (slots 1 and 2, constant keys). No arguments, no return values:
 * what HIKe adds is exactly what is missing here. */
#include <hike/hike.h>
#include <hike/parse.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4);
} pipe_progs SEC(".maps");

/* verdict -> packets (0 = PASS, 1 = DROP, 2 = REDIRECT), like monitor */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} pipe_mon SEC(".maps");

SEC("xdp")
int pipe_classifier(struct xdp_md *ctx)
{
	struct ethhdr *eth = hike_pkt_ptr(ctx, 0, sizeof(*eth));

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	bpf_tail_call_static(ctx, &pipe_progs, 1);
	return XDP_PASS;
}

SEC("xdp")
int pipe_set_ecn(struct xdp_md *ctx)
{
	__u8 *ip6 = hike_pkt_ptr(ctx, sizeof(struct ethhdr), sizeof(struct ipv6hdr));

	if (ip6)
		ip6[1] |= 0x30;
	bpf_tail_call_static(ctx, &pipe_progs, 2);
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
