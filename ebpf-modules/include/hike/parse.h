/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Packet parsing shared by loaders and modules: Ethernet/IPv6/IPv4 headers and pkt_info. */
#ifndef HIKE_PARSE_H
#define HIKE_PARSE_H

#include "hike.h"
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/in.h>

#ifndef NEXTHDR_HOP
#define NEXTHDR_HOP	0
#define NEXTHDR_ROUTING	43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_DEST	60
#define NEXTHDR_NONE	59
#endif

#define HIKE_OFF_MASK	0x3fff

/* Pointer to len bytes at packet offset off, or NULL. */
#define hike_pkt_ptr(ctx, off, len) ({						\
	void *__d = (void *)(long)(ctx)->data;					\
	void *__e = (void *)(long)(ctx)->data_end;				\
	void *__p = __d + ((__u32)(off) & HIKE_OFF_MASK);			\
	(__p + (len) > __e) ? (void *)0 : __p; })

/* Fills pkt_info for Ethernet + IPv6/IPv4; thoff is set when L3 is followed directly by
 * the transport header. Returns the L3 ethertype (host order) or 0. */
static __always_inline __u16 hike_parse_l2l3(struct xdp_md *ctx, struct hike_pkt_info *pi,
					     __u8 *l4proto)
{
	struct ethhdr *eth = hike_pkt_ptr(ctx, 0, sizeof(*eth));
	__u16 proto;

	pi->dataoff = 0;
	pi->mhoff = 0;
	pi->nhoff = HIKE_PKT_INFO_UNSET;
	pi->thoff = HIKE_PKT_INFO_UNSET;
	*l4proto = 0;
	if (!eth)
		return 0;
	proto = bpf_ntohs(eth->h_proto);
	if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = hike_pkt_ptr(ctx, sizeof(*eth), sizeof(*ip6));

		if (!ip6)
			return 0;
		pi->nhoff = sizeof(*eth);
		pi->thoff = sizeof(*eth) + sizeof(*ip6);
		pi->dataoff = pi->thoff;
		*l4proto = ip6->nexthdr;
		return proto;
	}
	if (proto == ETH_P_IP) {
		struct iphdr *ip4 = hike_pkt_ptr(ctx, sizeof(*eth), sizeof(*ip4));

		if (!ip4 || ip4->ihl < 5)
			return 0;
		pi->nhoff = sizeof(*eth);
		pi->thoff = sizeof(*eth) + ip4->ihl * 4;
		pi->dataoff = pi->thoff;
		*l4proto = ip4->protocol;
		return proto;
	}
	return 0;
}

/* The IPv6 header at pkt_info->nhoff, or NULL. The loader sets nhoff for IPv6 and IPv4
 * alike; the header's version nibble tells them apart, in the bytes read anyway. */
static __always_inline struct ipv6hdr *hike_ip6hdr(struct xdp_md *ctx, struct hike_pkt_info *pi)
{
	struct ipv6hdr *ip6;

	if (pi->nhoff == HIKE_PKT_INFO_UNSET)
		return 0;
	ip6 = hike_pkt_ptr(ctx, pi->nhoff, sizeof(*ip6));
	if (!ip6 || ip6->version != 6)
		return 0;
	return ip6;
}

struct ipv6_sd_key {
	struct in6_addr saddr;
	struct in6_addr daddr;
};

/* The (source, destination) key of an IPv6 header, where it lies: saddr and daddr follow each
 * other in the header, so the 32 bytes at &ip6->saddr are a struct ipv6_sd_key. A map helper
 * takes a key in the packet as it takes one on the stack (the verifier checks the 32 bytes
 * against the packet's bounds, which hike_ip6hdr has checked for the whole header), so the
 * key needs no copy. The same holds for &ip6->daddr as a struct in6_addr key. */
static __always_inline const struct ipv6_sd_key *hike_ip6_sd_key(const struct ipv6hdr *ip6)
{
	return (const struct ipv6_sd_key *)&ip6->saddr;
}

/* The UDP header at pkt_info->thoff, when the IPv6 or IPv4 header at nhoff says that UDP
 * follows it directly (no IPv6 extension header in between), and all of it is in the packet;
 * else NULL. */
static __always_inline struct udphdr *hike_udphdr(struct xdp_md *ctx, struct hike_pkt_info *pi)
{
	__u8 *l3, proto;

	if (pi->nhoff == HIKE_PKT_INFO_UNSET || pi->thoff == HIKE_PKT_INFO_UNSET)
		return 0;
	/* 20 bytes: the IPv4 header, or the IPv6 header up to its next header field */
	l3 = hike_pkt_ptr(ctx, pi->nhoff, sizeof(struct iphdr));
	if (!l3)
		return 0;
	switch (l3[0] >> 4) {
	case 6:
		proto = l3[6];
		break;
	case 4:
		proto = l3[9];
		break;
	default:
		return 0;
	}
	if (proto != IPPROTO_UDP)
		return 0;
	return hike_pkt_ptr(ctx, pi->thoff, sizeof(struct udphdr));
}

#endif
