/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.mynet: udp_port(port), and the aliases of net_aliases.h (the original eCLAT's
 * scripts import the default programs from this package). */
#include <hike/api.h>
#include <hike/parse.h>
#include "net_aliases.h"

/* udp_port(port): 1 when the packet is UDP (right after its IPv6 or IPv4 header) to
 * destination port `port`, else 0; continues the chain. */
HIKE_PROG(udp_port)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	struct udphdr *udp = pi ? hike_udphdr(ctx, pi) : 0;
	__u64 port = HVM_ARG2;

	HVM_RET = udp && bpf_ntohs(udp->dest) == port;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG_2(udp_port, __u64, port);

char _license[] SEC("license") = "Dual MIT/GPL";
