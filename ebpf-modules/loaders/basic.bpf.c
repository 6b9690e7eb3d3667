/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* loaders.basic: the original eCLAT's basic IPv6 classifier under its own name, so that
 * scripts written for it run unchanged:
 *   ip6_sc[ipv6_sc_map] = { (0): (mychain) }
 *   ip6_sc.attach('DEVNAME', 'xdp')
 * Every IPv6 packet goes to the chain in ipv6_sc_map[0]; everything else passes. */
#include <hike/loader.h>

bpf_map(ipv6_sc_map, ARRAY, __u32, __u32, 1);
SEC("xdp")
int ip6_sc(struct xdp_md *ctx)
{
	return hike_ip6_classify_one(ctx, &ipv6_sc_map);
}
EXPORT_HIKE_LOADER(ip6_sc);
EXPORT_HIKE_MAP(ip6_sc, ipv6_sc_map);

char _license[] SEC("license") = "Dual MIT/GPL";
