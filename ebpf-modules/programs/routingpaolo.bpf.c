/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.routingpaolo: SRv6 micro-segments (uSID, RFC 9800's NEXT-C-SID flavour) in three
 * steps a chain composes: advance the active uSID, rewrite the MAC addresses, route. The
 * original's modules are not public; these are the lab's own versions.
 *
 * The destination address of a uSID packet is a uSID block (here the first USID_BLOCK_BYTES
 * = 4 bytes, a /32) followed by a container of 16-bit uSIDs, the active one first (bytes 4-5)
 * and zeros after the last.
 *
 * paolo_adv_usid() -> the new active uSID: shifts the uSIDs after the block left by 16 bits,
 *     filling the end with zeros (the packet goes on to the next uSID); 0 when none is left
 *     (the active uSID was the last: the packet has arrived), -EINVAL when it is not IPv6.
 *     The UDP/TCP checksum needs no change: a sender computes it over the final address.
 * paolo_chaddr() -> 0 after writing the destination and source MAC of paolo_chaddr_map[0]
 *     into the Ethernet header; -ENOENT, packet unchanged, while the entry's destination MAC
 *     is all zero (not configured); -EINVAL when the frame is shorter than an Ethernet header.
 * paolo_kroute(): final; forwards through the kernel's FIB as ip6_kroute does (hop limit - 1,
 *     MACs of the egress device and the next hop, redirect), XDP_PASS when it cannot. */
#include <hike/api.h>
#include <hike/parse.h>
#include <hike/route.h>
#include <linux/errno.h>

#define USID_BLOCK_BYTES	4
#define USID_BYTES		2
EXPORT_HIKE_CONST(USID_BLOCK_BYTES);

HIKE_PROG(paolo_adv_usid)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	struct ipv6hdr *ip6;
	__u8 *da;
	int i;

	if (!pi || !(ip6 = hike_ip6hdr(ctx, pi))) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	da = ip6->daddr.in6_u.u6_addr8;
#pragma unroll
	for (i = USID_BLOCK_BYTES; i < 16 - USID_BYTES; i++)
		da[i] = da[i + USID_BYTES];
	da[14] = 0;
	da[15] = 0;
	HVM_RET = (__u64)da[USID_BLOCK_BYTES] << 8 | da[USID_BLOCK_BYTES + 1];
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(paolo_adv_usid);

struct paolo_macs {
	__u8 dmac[ETH_ALEN];
	__u8 smac[ETH_ALEN];
};
bpf_map(paolo_chaddr_map, ARRAY, __u32, struct paolo_macs, 1);

HIKE_PROG(paolo_chaddr)
{
	struct ethhdr *eth = hike_pkt_ptr(ctx, 0, sizeof(*eth));
	struct paolo_macs *m;
	__u32 zero = 0;

	if (!eth) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	m = bpf_map_lookup_elem(&paolo_chaddr_map, &zero);
	if (!m || !(m->dmac[0] | m->dmac[1] | m->dmac[2] | m->dmac[3] | m->dmac[4] | m->dmac[5])) {
		HVM_RET = -ENOENT;
		return HIKE_XDP_VM;
	}
	__builtin_memcpy(eth->h_dest, m->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, m->smac, ETH_ALEN);
	HVM_RET = 0;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(paolo_chaddr);
EXPORT_HIKE_PROG_MAP(paolo_chaddr, paolo_chaddr_map);

HIKE_PROG(paolo_kroute)
{
	return hike_ip6_kroute(ctx, hike_pcpu_pkt_info());
}
EXPORT_HIKE_PROG(paolo_kroute);
EXPORT_HIKE_FINAL(paolo_kroute);

char _license[] SEC("license") = "Dual MIT/GPL";
