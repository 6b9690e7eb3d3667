/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.info: show_pkt_info(layers, cookie) sends the packet's L2 (1) / L3 (2) / L4 (4)
 * fields to the ring buffer pkt_info_events, which the lab's event log reads. */
#include <hike/api.h>
#include <hike/parse.h>
#include <linux/errno.h>

#define HIKE_INFO_L2 1
#define HIKE_INFO_L3 2
#define HIKE_INFO_L4 4
EXPORT_HIKE_CONST(HIKE_INFO_L2);
EXPORT_HIKE_CONST(HIKE_INFO_L3);
EXPORT_HIKE_CONST(HIKE_INFO_L4);

struct pkt_info_event {
	__u64 ts;
	__u64 cookie;
	__u32 layers;
	__u32 ifindex;
	__u32 len;
	__u16 eth_proto;
	__u8 l4_proto;
	__u8 hop_limit;
	__u8 dmac[6];
	__u8 smac[6];
	__u8 saddr[16];	/* IPv6, or IPv4 in the first 4 bytes */
	__u8 daddr[16];
	__u16 sport;
	__u16 dport;
	__u32 reserved;
};	/* 88 bytes */

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} pkt_info_events SEC(".maps");

HIKE_PROG(show_pkt_info)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	struct pkt_info_event ev = {};
	struct ethhdr *eth;
	__u32 layers = HVM_ARG2;

	ev.ts = bpf_ktime_get_ns();
	ev.cookie = HVM_ARG3;
	ev.layers = layers;
	ev.ifindex = ctx->ingress_ifindex;
	ev.len = ctx->data_end - ctx->data;
	eth = hike_pkt_ptr(ctx, 0, sizeof(*eth));
	if (eth) {
		ev.eth_proto = bpf_ntohs(eth->h_proto);
		if (layers & HIKE_INFO_L2) {
			__builtin_memcpy(ev.dmac, eth->h_dest, 6);
			__builtin_memcpy(ev.smac, eth->h_source, 6);
		}
	}
	if (pi && eth && pi->nhoff != HIKE_PKT_INFO_UNSET && (layers & (HIKE_INFO_L3 | HIKE_INFO_L4))) {
		if (ev.eth_proto == ETH_P_IPV6) {
			struct ipv6hdr *ip6 = hike_pkt_ptr(ctx, pi->nhoff, sizeof(*ip6));

			if (ip6) {
				ev.l4_proto = ip6->nexthdr;
				ev.hop_limit = ip6->hop_limit;
				if (layers & HIKE_INFO_L3) {
					__builtin_memcpy(ev.saddr, &ip6->saddr, 16);
					__builtin_memcpy(ev.daddr, &ip6->daddr, 16);
				}
			}
		} else if (ev.eth_proto == ETH_P_IP) {
			struct iphdr *ip4 = hike_pkt_ptr(ctx, pi->nhoff, sizeof(*ip4));

			if (ip4) {
				ev.l4_proto = ip4->protocol;
				ev.hop_limit = ip4->ttl;
				if (layers & HIKE_INFO_L3) {
					__builtin_memcpy(ev.saddr, &ip4->saddr, 4);
					__builtin_memcpy(ev.daddr, &ip4->daddr, 4);
				}
			}
		}
		if ((layers & HIKE_INFO_L4) && pi->thoff != HIKE_PKT_INFO_UNSET &&
		    (ev.l4_proto == IPPROTO_UDP || ev.l4_proto == IPPROTO_TCP)) {
			__be16 *ports = hike_pkt_ptr(ctx, pi->thoff, 4);

			if (ports) {
				ev.sport = bpf_ntohs(ports[0]);
				ev.dport = bpf_ntohs(ports[1]);
			}
		}
	}
	bpf_ringbuf_output(&pkt_info_events, &ev, sizeof(ev), 0);
	HVM_RET = 0;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG_3(show_pkt_info, __u32, layers, __u64, cookie);
EXPORT_HIKE_PROG_MAP(show_pkt_info, pkt_info_events);

char _license[] SEC("license") = "Dual MIT/GPL";
