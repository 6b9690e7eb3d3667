/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* IPv6 forwarding in XDP through the kernel FIB, shared by ip6_kroute and the raw baselines. */
#ifndef HIKE_ROUTE_H
#define HIKE_ROUTE_H

#include "parse.h"

#ifndef AF_INET6
#define AF_INET6 10
#endif

/* Looks up ip6's destination in the FIB of the ingress device's namespace. On success the
 * hop limit is decremented, the MACs are those of the egress device and the next hop, and the
 * result is bpf_redirect() to the egress device; otherwise XDP_PASS (the kernel's own stack
 * decides: no route, no neighbour yet, hop limit exhausted, forwarding disabled). */
static __always_inline int hike_ip6_fib_forward(struct xdp_md *ctx, struct ethhdr *eth,
						struct ipv6hdr *ip6)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	if (ip6->hop_limit <= 1)
		return XDP_PASS;
	fib.family = AF_INET6;
	fib.flowinfo = *(__be32 *)ip6 & bpf_htonl(0x0fffffff);
	fib.l4_protocol = ip6->nexthdr;
	fib.tot_len = bpf_ntohs(ip6->payload_len);
	__builtin_memcpy(fib.ipv6_src, &ip6->saddr, 16);
	__builtin_memcpy(fib.ipv6_dst, &ip6->daddr, 16);
	fib.ifindex = ctx->ingress_ifindex;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return XDP_PASS;
	ip6->hop_limit--;
	__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
	return bpf_redirect(fib.ifindex, 0);
}

/* A program's whole routing step: the IPv6 header pkt_info points at through the FIB, as
 * above; XDP_PASS when there is none (ip6_kroute, paolo_kroute). */
static __always_inline int hike_ip6_kroute(struct xdp_md *ctx, struct hike_pkt_info *pi)
{
	struct ipv6hdr *ip6;
	struct ethhdr *eth;

	if (!pi)
		return XDP_PASS;
	ip6 = hike_ip6hdr(ctx, pi);
	eth = hike_pkt_ptr(ctx, 0, sizeof(*eth));
	if (!ip6 || !eth)
		return XDP_PASS;
	return hike_ip6_fib_forward(ctx, eth, ip6);
}

#endif
