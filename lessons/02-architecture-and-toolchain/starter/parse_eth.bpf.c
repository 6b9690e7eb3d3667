// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Lesson 2: count IPv6 packets by their next header (6 TCP, 17 UDP, 58 ICMPv6, ...).
 * As shipped, the kernel refuses to load it. Build it, read what the verifier says, fix it. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* next header -> packets (per CPU) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} nexthdr_count SEC(".maps");

SEC("xdp")
int parse_eth(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6;
	__u32 key;
	__u64 *count;

	/* a debug print, added "just to see what arrives" */
	bpf_printk("ethertype %x", bpf_ntohs(eth->h_proto));

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;

	ip6 = (void *)(eth + 1);
	if ((void *)(ip6 + 1) > data_end)
		return XDP_PASS;

	key = ip6->nexthdr;
	count = bpf_map_lookup_elem(&nexthdr_count, &key);
	if (count)
		*count += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
