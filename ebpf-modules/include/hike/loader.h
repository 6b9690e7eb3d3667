/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Shared by loaders: parse the packet into pkt_info, and the one-entry IPv6 classifier
 * (loaders.hike_default's ip6_simple_classifier, loaders.basic's ip6_sc). */
#ifndef HIKE_LOADER_H
#define HIKE_LOADER_H

#include "api.h"
#include "parse.h"

/* Fills pkt_info; *proto = the L3 ethertype (host order, 0 when neither IPv6 nor IPv4),
 * *l4 = the L4 protocol. -1 when the shared memory is missing. */
static __always_inline int hike_loader_parse(struct xdp_md *ctx, __u16 *proto, __u8 *l4)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();

	if (!pi)
		return -1;
	*proto = hike_parse_l2l3(ctx, pi, l4);
	return 0;
}

/* Every IPv6 packet goes to the chain in map[0] (an ARRAY of one __u32); anything else, and
 * every packet while map[0] is 0 (no chain), passes. */
static __always_inline int hike_ip6_classify_one(struct xdp_md *ctx, void *map)
{
	__u32 zero = 0, *chain;
	__u16 proto;
	__u8 l4;

	if (hike_loader_parse(ctx, &proto, &l4) || proto != ETH_P_IPV6)
		return XDP_PASS;
	chain = bpf_map_lookup_elem(map, &zero);
	if (!chain || !*chain)
		return XDP_PASS;
	return hike_chain_boot(ctx, *chain);
}

#endif
