// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Lesson 2, design exercise "ext-headers" (solution): a loop with a constant bound walks at
 * most MAX_EXT extension headers; each one is read only after a comparison with data_end
 * proves its first two bytes are there, and the next one starts (length + 1) * 8 bytes on. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_EXT 4

/* upper-layer protocol -> packets (per CPU) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} l4_count SEC(".maps");

SEC("xdp")
int parse_ext(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6;
	__u8 *hdr;
	__u32 key, i;
	__u64 *count;
	__u8 nh;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	ip6 = (void *)(eth + 1);
	if ((void *)(ip6 + 1) > data_end)
		return XDP_PASS;

	nh = ip6->nexthdr;
	hdr = (void *)(ip6 + 1);
	for (i = 0; i < MAX_EXT; i++) {
		if (nh != IPPROTO_HOPOPTS && nh != IPPROTO_DSTOPTS && nh != IPPROTO_ROUTING)
			break;
		if ((void *)(hdr + 2) > data_end)
			return XDP_PASS;
		nh = hdr[0];
		hdr += (hdr[1] + 1) * 8;
	}
	key = nh;
	count = bpf_map_lookup_elem(&l4_count, &key);
	if (count)
		*count += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
