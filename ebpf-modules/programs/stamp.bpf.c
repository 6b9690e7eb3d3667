/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.stamp: collector(), a collector of STAMP test packets (Simple Two-way Active
 * Measurement Protocol, RFC 8762). A Session-Sender's test packet is UDP to port 862 whose
 * payload starts with a 4-byte sequence number and an 8-byte timestamp (network byte order),
 * 44 bytes at least (the unauthenticated format). The original's module is not public; the
 * lab's version counts test packets per session, a session being (source address,
 * destination address, source port, destination port) as in RFC 8762, and records the last
 * sequence number, the sender's timestamp as sent and the time it was seen here.
 *
 * collector() -> the session's packet count including this packet, 0 when the packet is not
 * a STAMP test packet over IPv6 (UDP right after the IPv6 header, destination port 862,
 * payload of 44 bytes at least); continues the chain, which decides the verdict. */
#include <hike/api.h>
#include <hike/parse.h>

#define STAMP_PORT		862
#define STAMP_MIN_PAYLOAD	44
EXPORT_HIKE_CONST(STAMP_PORT);

struct stamp_session {
	struct in6_addr saddr;
	struct in6_addr daddr;
	__u16 sport;		/* host byte order */
	__u16 dport;
	__u32 pad;
};

struct stamp_stats {
	__u64 packets;
	__u64 last_tx_ts;	/* the sender's timestamp (NTP or PTP format, as sent) */
	__u64 last_rx_ns;	/* bpf_ktime_get_ns() when the packet was counted */
	__u32 last_seq;
	__u32 pad;
};
bpf_map(stamp_sessions, LRU_HASH, struct stamp_session, struct stamp_stats, 1024);

HIKE_PROG(collector)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	struct stamp_session key = {};
	struct stamp_stats *st, nst = {};
	struct ipv6hdr *ip6;
	struct udphdr *udp;
	__u8 *p;

	HVM_RET = 0;
	if (!pi || !(ip6 = hike_ip6hdr(ctx, pi)) || ip6->nexthdr != IPPROTO_UDP)
		return HIKE_XDP_VM;
	udp = hike_udphdr(ctx, pi);
	if (!udp || udp->dest != bpf_htons(STAMP_PORT))
		return HIKE_XDP_VM;
	p = hike_pkt_ptr(ctx, pi->thoff + sizeof(*udp), STAMP_MIN_PAYLOAD);
	if (!p)
		return HIKE_XDP_VM;
	__builtin_memcpy(&key.saddr, &ip6->saddr, sizeof(key.saddr));
	__builtin_memcpy(&key.daddr, &ip6->daddr, sizeof(key.daddr));
	key.sport = bpf_ntohs(udp->source);
	key.dport = bpf_ntohs(udp->dest);
	nst.last_seq = bpf_ntohl(*(__be32 *)p);
	nst.last_tx_ts = bpf_be64_to_cpu(*(__be64 *)(p + 4));
	nst.last_rx_ns = bpf_ktime_get_ns();
	st = bpf_map_lookup_elem(&stamp_sessions, &key);
	if (!st) {
		nst.packets = 1;
		bpf_map_update_elem(&stamp_sessions, &key, &nst, BPF_ANY);
		HVM_RET = 1;
		return HIKE_XDP_VM;
	}
	st->last_seq = nst.last_seq;
	st->last_tx_ts = nst.last_tx_ts;
	st->last_rx_ns = nst.last_rx_ns;
	HVM_RET = __sync_fetch_and_add(&st->packets, 1) + 1;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(collector);
EXPORT_HIKE_PROG_MAP(collector, stamp_sessions);

char _license[] SEC("license") = "Dual MIT/GPL";
