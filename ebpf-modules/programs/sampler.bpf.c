/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.sampler: ip6_sd_dec2zero(n), a per-(src,dst) countdown that reaches 0 once every
 * n packets (the n-th, 2n-th, ... packet of the flow). */
#include <hike/api.h>
#include <hike/parse.h>
#include <linux/errno.h>

bpf_map(ip6_sd_dec2zero_map, LRU_HASH, struct ipv6_sd_key, __u64, 4096);

HIKE_PROG(ip6_sd_dec2zero)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	__u64 n = HVM_ARG2, *left, init;
	const struct ipv6_sd_key *key;
	struct ipv6hdr *ip6;

	if (!pi || !(ip6 = hike_ip6hdr(ctx, pi))) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	if (n == 0)
		n = 1;
	key = hike_ip6_sd_key(ip6);
	left = bpf_map_lookup_elem(&ip6_sd_dec2zero_map, key);
	if (!left) {
		init = n - 1;
		bpf_map_update_elem(&ip6_sd_dec2zero_map, key, &init, BPF_ANY);
		HVM_RET = init;
		return HIKE_XDP_VM;
	}
	if (*left == 0 || *left > n)
		*left = n;
	*left -= 1;
	HVM_RET = *left;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG_2(ip6_sd_dec2zero, __u64, n);
EXPORT_HIKE_PROG_MAP(ip6_sd_dec2zero, ip6_sd_dec2zero_map);

#ifndef HIKE_BODIES_ONLY	/* raw/ddos_inline.bpf.c includes this file for its bodies */
char _license[] SEC("license") = "Dual MIT/GPL";
#endif
