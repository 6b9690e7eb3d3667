// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Lesson 1, design exercise "ping-wall" (solution): ICMPv6 echo requests are dropped and
 * counted in walled[0]; every other frame passes uncounted. Each header is read only after
 * a comparison with data_end has proved it is in the frame. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Echo requests dropped, one slot per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} walled SEC(".maps");

SEC("xdp")
int ping_wall(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6;
	struct icmp6hdr *icmp;
	__u32 key = 0;
	__u64 *n;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	ip6 = (void *)(eth + 1);
	if ((void *)(ip6 + 1) > data_end || ip6->nexthdr != IPPROTO_ICMPV6)
		return XDP_PASS;
	icmp = (void *)(ip6 + 1);
	if ((void *)(icmp + 1) > data_end || icmp->icmp6_type != ICMPV6_ECHO_REQUEST)
		return XDP_PASS;

	n = bpf_map_lookup_elem(&walled, &key);
	if (n)
		*n += 1;
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
