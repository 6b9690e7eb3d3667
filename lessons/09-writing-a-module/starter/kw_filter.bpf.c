/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Lesson 9: a new HIKe module. udp_kw_filter(dport) drops UDP datagrams whose payload starts
 * with the keyword "HIKE" (to port dport, or to any port when dport is 0) and counts them in
 * kw_hits; every other packet goes back to the calling chain with r0 = 0.
 * As shipped, the kernel's verifier refuses it: build it, read the explanation, fix it. */
#include <hike/api.h>
#include <hike/parse.h>

#define KW_LEN 4
static const char keyword[KW_LEN] = "HIKE";

/* 0 -> datagrams dropped because of the keyword */
bpf_map(kw_hits, PERCPU_ARRAY, __u32, __u64, 1);

HIKE_PROG(udp_kw_filter)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	__u32 dport = HVM_ARG2, zero = 0;
	struct udphdr *udp;
	__u64 *hits;
	__u8 *kw, l4;
	int i;

	HVM_RET = 0;
	if (!pi)
		return HIKE_XDP_VM;
	/* The loader filled pkt_info already; parsing again costs a few instructions and lets
	 * the module run alone, as the lesson's checks do. */
	if (!hike_parse_l2l3(ctx, pi, &l4) || l4 != IPPROTO_UDP)
		return HIKE_XDP_VM;
	udp = hike_pkt_ptr(ctx, pi->thoff, sizeof(*udp));
	if (!udp || (dport && bpf_ntohs(udp->dest) != dport))
		return HIKE_XDP_VM;

	kw = (__u8 *)(udp + 1);	/* the payload follows the UDP header */
	for (i = 0; i < KW_LEN; i++)
		if (kw[i] != keyword[i])
			return HIKE_XDP_VM;

	hits = bpf_map_lookup_elem(&kw_hits, &zero);
	if (hits)
		*hits += 1;
	HVM_RET = 1;
	return XDP_DROP;
}
EXPORT_HIKE_PROG_2(udp_kw_filter, __u32, dport);
EXPORT_HIKE_PROG_MAP(udp_kw_filter, kw_hits);

char _license[] SEC("license") = "Dual MIT/GPL";
