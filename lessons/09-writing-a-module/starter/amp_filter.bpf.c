/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Lesson 9: udp_amp_filter() drops UDP datagrams that come *from* the port of a service
 * known to amplify reflection attacks (chargen 19, NTP 123, SSDP 1900, memcached 11211),
 * counts them per source port in amp_drops, and lets every other packet continue the chain.
 * As shipped, the body is a sketch and the program is not exported: write both. */
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
	HVM_RET = 0;
	/* TODO
	 * 1. parse the packet into pkt_info (hike_pcpu_pkt_info, hike_parse_l2l3); not UDP:
	 *    continue the chain;
	 * 2. get the UDP header at pkt_info->thoff (hike_pkt_ptr) and its source port;
	 * 3. an amplifier's port: count it in amp_drops[port], set r0 to 1 and drop.
	 */
	return HIKE_XDP_VM;
}

char _license[] SEC("license") = "Dual MIT/GPL";
