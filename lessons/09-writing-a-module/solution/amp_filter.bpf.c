/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Lesson 9: udp_amp_filter() drops UDP datagrams that come *from* the port of a service
 * known to amplify reflection attacks (chargen 19, NTP 123, SSDP 1900, memcached 11211),
 * counts them per source port in amp_drops, and lets every other packet continue the chain.
 * Solution: the body parses down to UDP, and the program is exported with its map. */
#include <hike/api.h>
#include <hike/parse.h>

/* UDP source port -> datagrams dropped */
bpf_map(amp_drops, HASH, __u16, __u64, 16);

static __always_inline int is_amplifier(__u16 port)
{
	return port == 19 || port == 123 || port == 1900 || port == 11211;
}

HIKE_PROG(udp_amp_filter)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	__u64 one = 1, *n;
	struct udphdr *udp;
	__u16 sport;
	__u8 l4;

	HVM_RET = 0;
	if (!pi || !hike_parse_l2l3(ctx, pi, &l4) || l4 != IPPROTO_UDP)
		return HIKE_XDP_VM;
	udp = hike_pkt_ptr(ctx, pi->thoff, sizeof(*udp));
	if (!udp)
		return HIKE_XDP_VM;
	sport = bpf_ntohs(udp->source);
	if (!is_amplifier(sport))
		return HIKE_XDP_VM;

	n = bpf_map_lookup_elem(&amp_drops, &sport);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&amp_drops, &sport, &one, BPF_NOEXIST);
	HVM_RET = 1;
	return XDP_DROP;
}
EXPORT_HIKE_PROG(udp_amp_filter);
EXPORT_HIKE_PROG_MAP(udp_amp_filter, amp_drops);

char _license[] SEC("license") = "Dual MIT/GPL";
