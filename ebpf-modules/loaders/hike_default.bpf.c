/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* loaders.hike_default: XDP programs attached to interfaces. Each parses the packet into the
 * per-CPU pkt_info, picks a chain ID from its own map and starts the VM; unmatched packets
 * pass. */
#include <hike/loader.h>

/* Every IPv6 packet goes to the chain in ipv6_simple_classifier_map[0]. */
bpf_map(ipv6_simple_classifier_map, ARRAY, __u32, __u32, 1);
SEC("xdp")
int ip6_simple_classifier(struct xdp_md *ctx)
{
	return hike_ip6_classify_one(ctx, &ipv6_simple_classifier_map);
}
EXPORT_HIKE_LOADER(ip6_simple_classifier);
EXPORT_HIKE_MAP(ip6_simple_classifier, ipv6_simple_classifier_map);

/* IPv6 destination -> chain ID. */
bpf_map(ip6_dst_classifier_map, HASH, struct in6_addr, __u32, 128);
SEC("xdp")
int ip6_dst_classifier(struct xdp_md *ctx)
{
	struct hike_pkt_info *pi;
	struct ipv6hdr *ip6;
	struct in6_addr dst;
	__u32 *chain;
	__u16 proto;
	__u8 l4;

	if (hike_loader_parse(ctx, &proto, &l4) || proto != ETH_P_IPV6)
		return XDP_PASS;
	pi = hike_pcpu_pkt_info();
	if (!pi)
		return XDP_PASS;
	ip6 = hike_ip6hdr(ctx, pi);
	if (!ip6)
		return XDP_PASS;
	__builtin_memcpy(&dst, &ip6->daddr, sizeof(dst));
	chain = bpf_map_lookup_elem(&ip6_dst_classifier_map, &dst);
	if (!chain || !*chain)
		return XDP_PASS;
	return hike_chain_boot(ctx, *chain);
}
EXPORT_HIKE_LOADER(ip6_dst_classifier);
EXPORT_HIKE_MAP(ip6_dst_classifier, ip6_dst_classifier_map);

/* UDP destination port (host order) -> chain ID, over IPv4 or IPv6 without extension headers. */
bpf_map(udp_dport_classifier_map, HASH, __u16, __u32, 64);
SEC("xdp")
int udp_dport_classifier(struct xdp_md *ctx)
{
	struct hike_pkt_info *pi;
	struct udphdr *udp;
	__u32 *chain;
	__u16 proto, port;
	__u8 l4;

	if (hike_loader_parse(ctx, &proto, &l4) || !proto || l4 != IPPROTO_UDP)
		return XDP_PASS;
	pi = hike_pcpu_pkt_info();
	if (!pi)
		return XDP_PASS;
	udp = hike_pkt_ptr(ctx, pi->thoff, sizeof(*udp));
	if (!udp)
		return XDP_PASS;
	port = bpf_ntohs(udp->dest);
	chain = bpf_map_lookup_elem(&udp_dport_classifier_map, &port);
	if (!chain || !*chain)
		return XDP_PASS;
	return hike_chain_boot(ctx, *chain);
}
EXPORT_HIKE_LOADER(udp_dport_classifier);
EXPORT_HIKE_MAP(udp_dport_classifier, udp_dport_classifier_map);

char _license[] SEC("license") = "Dual MIT/GPL";
