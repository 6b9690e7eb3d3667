// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Lesson 4, exercise 2 (drain): the load balancer of exercise 1, which must learn to drain
 * a backend. This is exercise 1's solution, plus the lb_drain map; your design goes in the
 * places marked TODO.
 *
 * Draining: the operator sets lb_drain[slot] = 1 before taking a backend away. From then
 * on no NEW flow may be sent to it, while every flow that is already there keeps going to
 * it (a connection cut in the middle is an outage for its user). The backend stays in
 * lb_backends and lb_service[0] does not change.
 *
 * What follows is exercise 1's text: an XDP layer-4 load balancer, the way Cilium's
 * standalone XDP load balancer works, at the size of a lab. It runs on sut's eth0, the only interface of a "one-armed"
 * load balancer: every packet for the service (VIP 10.0.100.1, UDP or TCP port 8080) gets
 * a backend chosen by a hash of its flow, its destination address rewritten to that
 * backend's, both checksums updated, and goes back out of eth0 to the router (XDP_TX),
 * which forwards it to the backend. Everything else passes to sut's own stack.
 *
 * The control plane (you, with `map set`) talks to this datapath only through maps:
 *   lb_backends[slot]    a backend's IPv4 address (slot 0, 1, ...)
 *   lb_service[0]        how many slots are in use
 * and reads back:
 *   lb_backend_pkts[slot] packets sent to each backend
 *   lb_stats             0: balanced, 1: dropped (no backend), 2: not for the service */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define LB_VIP 0x0a006401 /* 10.0.100.1 */
#define LB_PORT 8080
#define LB_MAX_BACKENDS 8

enum { STAT_BALANCED, STAT_NO_BACKEND, STAT_NOT_SERVICE, STAT_MAX };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32); /* IPv4 address, host order: `map set lb_backends 0 10.0.1.2` */
	__uint(max_entries, LB_MAX_BACKENDS);
} lb_backends SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
} lb_service SEC(".maps");

/* slot -> 1 while the backend drains (the control plane writes it) */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, LB_MAX_BACKENDS);
} lb_drain SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, LB_MAX_BACKENDS);
} lb_backend_pkts SEC(".maps");

/* TODO (exercise 2): what must the datapath remember so that a flow keeps its backend
 * when the choice by hash would no longer be allowed? Declare it here. */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, STAT_MAX);
} lb_stats SEC(".maps");

/* The flow a packet belongs to: its 5-tuple, as it appears in the headers. */
struct flow {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

static __always_inline void count(void *map, __u32 key)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);

	if (v)
		*v += 1; /* per-CPU slot: no atomic needed */
}

/* A 32-bit mixer (two multiply-xorshift rounds): every input bit moves about half the
 * output bits, so neighbouring source ports land on unrelated backends. */
static __always_inline __u32 mix(__u32 h)
{
	h ^= h >> 16;
	h *= 0x7feb352d;
	h ^= h >> 15;
	h *= 0x846ca68b;
	h ^= h >> 16;
	return h;
}

/* The flow's hash: the same for every packet of a flow, whatever else changes. */
static __always_inline __u32 flow_hash(const struct flow *f)
{
	__u32 h = mix(f->saddr ^ 0x9e3779b9);

	h = mix(h ^ f->daddr);
	h = mix(h ^ (((__u32)f->sport << 16) | f->dport));
	return mix(h ^ f->proto);
}

static __always_inline __u16 csum_fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)s;
}

/* RFC 1624's incremental update, for a 32-bit field of the covered data that changes from
 * `from` to `to`: HC' = ~(~HC + ~m + m'), one 16-bit half at a time. One's-complement sums
 * do not care about byte order as long as every word is read the same way, so the halves
 * are taken as they sit in memory. */
static __always_inline void csum_replace4(__sum16 *sum, __be32 from, __be32 to)
{
	__u32 s = (__u16)~*sum;

	s += (__u16)~from + (__u16)~(from >> 16);
	s += (__u16)to + (__u16)(to >> 16);
	*sum = ~csum_fold(s);
}

SEC("xdp")
int lb_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct flow f = {};
	__sum16 *l4sum = 0;
	__u8 mac[ETH_ALEN];
	__u32 key = 0, *n, *addr, slot;
	__be32 backend;
	void *l4;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		goto not_service;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl < 5 || ip->daddr != bpf_htonl(LB_VIP))
		goto not_service;
	/* a fragment after the first has no ports: it cannot be given its flow's backend */
	if (ip->frag_off & bpf_htons(0x1fff))
		goto not_service;
	l4 = (void *)ip + ip->ihl * 4;
	if (ip->protocol == IPPROTO_UDP) {
		struct udphdr *udp = l4;

		if ((void *)(udp + 1) > data_end)
			goto not_service;
		f.sport = udp->source;
		f.dport = udp->dest;
		/* 0: the sender computed no checksum (IPv4 allows it); it stays 0 */
		if (udp->check)
			l4sum = &udp->check;
	} else if (ip->protocol == IPPROTO_TCP) {
		struct tcphdr *tcp = l4;

		if ((void *)(tcp + 1) > data_end)
			goto not_service;
		f.sport = tcp->source;
		f.dport = tcp->dest;
		l4sum = &tcp->check;
	} else {
		goto not_service;
	}
	if (f.dport != bpf_htons(LB_PORT))
		goto not_service;
	f.saddr = ip->saddr;
	f.daddr = ip->daddr;
	f.proto = ip->protocol;

	/* pick the backend: the flow's hash, modulo the number of backends */
	n = bpf_map_lookup_elem(&lb_service, &key);
	if (!n || *n == 0 || *n > LB_MAX_BACKENDS)
		goto no_backend;
	/* TODO (exercise 2): a flow that already has a backend keeps it, draining or not;
	 * a new flow gets a backend that is not draining, and is remembered. */
	slot = flow_hash(&f) % *n;
	addr = bpf_map_lookup_elem(&lb_backends, &slot);
	if (!addr || *addr == 0)
		goto no_backend;
	backend = bpf_htonl(*addr);

	/* rewrite: the destination address, then both checksums that cover it (the UDP and
	 * TCP checksums include the addresses through their pseudo-header) */
	csum_replace4(&ip->check, ip->daddr, backend);
	if (l4sum) {
		csum_replace4(l4sum, ip->daddr, backend);
		if (ip->protocol == IPPROTO_UDP && *l4sum == 0)
			*l4sum = 0xffff; /* a computed 0 is sent as all ones in UDP */
	}
	ip->daddr = backend;

	/* back to the router it came from: swap the Ethernet addresses */
	__builtin_memcpy(mac, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, mac, ETH_ALEN);

	count(&lb_backend_pkts, slot);
	count(&lb_stats, STAT_BALANCED);
	return XDP_TX;

no_backend:
	count(&lb_stats, STAT_NO_BACKEND);
	return XDP_DROP;
not_service:
	count(&lb_stats, STAT_NOT_SERVICE);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
