// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Lesson 2, design exercise "ext-headers": count IPv6 packets by their *upper-layer* protocol.
 *
 * parse_eth counted the IPv6 header's next header. Behind a hop-by-hop, destination options
 * or routing header, that is the extension header's number (0, 60, 43), not the protocol
 * that carries the data. Walk the chain of extension headers and count the packet in
 * l4_count under the first next header that is none of those three:
 *   - at most MAX_EXT extension headers are walked; a packet with more is counted under
 *     whatever next header the walk stopped at;
 *   - each extension header starts with its own next header (byte 0) and its length
 *     (byte 1, in 8-byte units, not counting the first 8 bytes);
 *   - every packet passes; a frame too short for a header it announces is passed uncounted.
 * The verifier must accept it: the loop has to be one it can see the end of, and every read
 * needs its proof against data_end. As shipped, the program counts the IPv6 header's next
 * header, as parse_eth does. */
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
	__u32 key;
	__u64 *count;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	ip6 = (void *)(eth + 1);
	if ((void *)(ip6 + 1) > data_end)
		return XDP_PASS;

	/* TODO: walk the extension headers */
	key = ip6->nexthdr;
	count = bpf_map_lookup_elem(&l4_count, &key);
	if (count)
		*count += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
