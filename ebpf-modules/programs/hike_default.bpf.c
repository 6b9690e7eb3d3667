/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.hike_default: the default HIKe programs (hike.md section 7). */
#include <hike/api.h>
#include <hike/parse.h>
#include <hike/clock.h>
#include <hike/route.h>
#include <linux/errno.h>

#define HIKE_EV_PASS		0
#define HIKE_EV_DROP		1
#define HIKE_EV_REDIRECT	2
EXPORT_HIKE_CONST(HIKE_EV_PASS);
EXPORT_HIKE_CONST(HIKE_EV_DROP);
EXPORT_HIKE_CONST(HIKE_EV_REDIRECT);

HIKE_VERDICT_PROG(hike_pass, XDP_PASS);
HIKE_VERDICT_PROG(hike_drop, XDP_DROP);

/* monitor(event): counts events per code. */
bpf_map(map_pcpu_mon, PERCPU_HASH, __u32, __u64, 64);

HIKE_PROG(monitor)
{
	__u32 ev = HVM_ARG2;
	__u64 one = 1, *cnt = bpf_map_lookup_elem(&map_pcpu_mon, &ev);

	if (cnt)
		*cnt += 1;
	else
		bpf_map_update_elem(&map_pcpu_mon, &ev, &one, BPF_NOEXIST);
	HVM_RET = 0;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG_2(monitor, __u32, event);
EXPORT_HIKE_PROG_MAP(monitor, map_pcpu_mon);

/* ip6_hset_srcdst(action): blacklist of IPv6 (src, dst) pairs with an expiry. */
#define HIKE_HSET_LOOKUP		0
#define HIKE_HSET_ADD			1
#define HIKE_HSET_LOOKUP_AND_CLEAN	2
#define HIKE_HSET_TIMEOUT_NS		10000000000ULL
EXPORT_HIKE_CONST(HIKE_HSET_LOOKUP);
EXPORT_HIKE_CONST(HIKE_HSET_ADD);
EXPORT_HIKE_CONST(HIKE_HSET_LOOKUP_AND_CLEAN);

struct ip6_hset_value {
	__u64 timestamp_ns;
	__u64 timeout_ns;
};
bpf_map(ip6_hset_srcdst_map, HASH, struct ipv6_sd_key, struct ip6_hset_value, 8192);

/* The packet's (source, destination) key, in the packet, or NULL when it is not IPv6. */
static __always_inline const struct ipv6_sd_key *ip6_sd_key_of(struct xdp_md *ctx)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	struct ipv6hdr *ip6;

	if (!pi)
		return 0;
	ip6 = hike_ip6hdr(ctx, pi);
	return ip6 ? hike_ip6_sd_key(ip6) : 0;
}

HIKE_PROG(ip6_hset_srcdst)
{
	__u32 action = HVM_ARG2;
	const struct ipv6_sd_key *key = ip6_sd_key_of(ctx);
	struct ip6_hset_value *v, nv;
	__u64 now;

	if (!key) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	now = hike_now_ns();
	switch (action) {
	case HIKE_HSET_ADD:
		nv.timestamp_ns = now;
		nv.timeout_ns = HIKE_HSET_TIMEOUT_NS;
		HVM_RET = bpf_map_update_elem(&ip6_hset_srcdst_map, key, &nv, BPF_ANY);
		break;
	case HIKE_HSET_LOOKUP:
	case HIKE_HSET_LOOKUP_AND_CLEAN:
		v = bpf_map_lookup_elem(&ip6_hset_srcdst_map, key);
		if (!v) {
			HVM_RET = -ENOENT;
			break;
		}
		if (now - v->timestamp_ns < v->timeout_ns) {
			HVM_RET = 0;
			break;
		}
		if (action == HIKE_HSET_LOOKUP_AND_CLEAN)
			bpf_map_delete_elem(&ip6_hset_srcdst_map, key);
		HVM_RET = -ENOENT;
		break;
	default:
		HVM_RET = -EINVAL;
	}
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG_2(ip6_hset_srcdst, __u32, action);
EXPORT_HIKE_PROG_MAP(ip6_hset_srcdst, ip6_hset_srcdst_map);

/* lse: ns since the flow's previous packet; all ones on the first. */
bpf_map(lse_map, LRU_PERCPU_HASH, struct ipv6_sd_key, __u64, 8192);

HIKE_PROG(lse)
{
	const struct ipv6_sd_key *key = ip6_sd_key_of(ctx);
	__u64 now, *last;

	if (!key) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	now = hike_now_ns();
	last = bpf_map_lookup_elem(&lse_map, key);
	if (last) {
		HVM_RET = now - *last;
		*last = now;
	} else {
		HVM_RET = ~0ULL;
		bpf_map_update_elem(&lse_map, key, &now, BPF_ANY);
	}
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(lse);
EXPORT_HIKE_PROG_MAP(lse, lse_map);

/* l2_redirect(ifindex): final redirect; DROP when ifindex is 0. */
HIKE_PROG(l2_redirect)
{
	__u32 ifindex = HVM_ARG2;

	if (!ifindex)
		return XDP_DROP;
	return bpf_redirect(ifindex, 0);
}
EXPORT_HIKE_PROG_2(l2_redirect, __u32, ifindex);
EXPORT_HIKE_FINAL(l2_redirect);

/* l2xcon: cross-connect, ingress ifindex -> egress ifindex. */
bpf_map(l2xcon_map, ARRAY, __u32, __u32, 256);

HIKE_PROG(l2xcon)
{
	__u32 iif = ctx->ingress_ifindex, *oif;

	oif = bpf_map_lookup_elem(&l2xcon_map, &iif);
	if (!oif || !*oif)
		return XDP_DROP;
	return bpf_redirect(*oif, 0);
}
EXPORT_HIKE_PROG(l2xcon);
EXPORT_HIKE_FINAL(l2xcon);
EXPORT_HIKE_PROG_MAP(l2xcon, l2xcon_map);

/* ip6_kroute: route in XDP through the kernel FIB; PASS when it cannot. */
HIKE_PROG(ip6_kroute)
{
	return hike_ip6_kroute(ctx, hike_pcpu_pkt_info());
}
EXPORT_HIKE_PROG(ip6_kroute);
EXPORT_HIKE_FINAL(ip6_kroute);

/* ip6_set_ecn: marks the packet Congestion Experienced; continues. */
HIKE_PROG(ip6_set_ecn)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	struct ipv6hdr *ip6;
	__u8 *b;

	if (!pi) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	ip6 = hike_ip6hdr(ctx, pi);
	if (!ip6) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	/* traffic class spans bytes 0-1; its two ECN bits are 0x30 of byte 1 */
	b = (__u8 *)ip6;
	b[1] |= 0x30;
	HVM_RET = 0;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(ip6_set_ecn);

/* app_cfg_load(key) / app_cfg_store(key, value): a generic configuration store. */
bpf_map(app_cfg_map, HASH, __u32, __u32, 256);

HIKE_PROG(app_cfg_load)
{
	__u32 key = HVM_ARG2, *v = bpf_map_lookup_elem(&app_cfg_map, &key);

	HVM_RET = v ? (__u64)*v : (__u64)-ENOENT;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG_2(app_cfg_load, __u32, key);
EXPORT_HIKE_PROG_MAP(app_cfg_load, app_cfg_map);

HIKE_PROG(app_cfg_store)
{
	__u32 key = HVM_ARG2, val = HVM_ARG3;

	HVM_RET = bpf_map_update_elem(&app_cfg_map, &key, &val, BPF_ANY);
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG_3(app_cfg_store, __u32, key, __u32, value);
EXPORT_HIKE_PROG_MAP(app_cfg_store, app_cfg_map);

/* ip6_find_udp: walks at most HIKE_MAX_EXTHDRS IPv6 extension headers to a UDP header that
 * is all in the packet; sets dataoff (and thoff) to it. A fragment other than the first has
 * no UDP header: -ENOENT. */
#define HIKE_MAX_EXTHDRS 6
HIKE_PROG(ip6_find_udp)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	struct ipv6hdr *ip6;
	__u32 off, i;
	__u8 nh;

	if (!pi)
		goto none;
	ip6 = hike_ip6hdr(ctx, pi);
	if (!ip6)
		goto none;
	nh = ip6->nexthdr;
	off = pi->nhoff + sizeof(*ip6);
#pragma unroll
	for (i = 0; i < HIKE_MAX_EXTHDRS; i++) {
		__u8 *h;

		if (nh == IPPROTO_UDP)
			break;
		if (nh != NEXTHDR_HOP && nh != NEXTHDR_ROUTING && nh != NEXTHDR_DEST &&
		    nh != NEXTHDR_FRAGMENT)
			goto none;
		h = hike_pkt_ptr(ctx, off, 2);
		if (!h)
			goto none;
		if (nh == NEXTHDR_FRAGMENT) {
			/* only the first fragment (offset 0) carries the upper-layer header */
			__u8 *fh = hike_pkt_ptr(ctx, off, 4);

			if (!fh || fh[2] || (fh[3] & 0xf8))
				goto none;
		}
		/* the length is the skipped header's own: a fragment header is always 8 bytes
		 * (its second byte is reserved), the others say 8 * (h[1] + 1) */
		off += nh == NEXTHDR_FRAGMENT ? 8 : (h[1] + 1) * 8;
		nh = h[0];
	}
	if (nh != IPPROTO_UDP || !hike_pkt_ptr(ctx, off, sizeof(struct udphdr)))
		goto none;
	pi->dataoff = off;
	pi->thoff = off;
	HVM_RET = IPPROTO_UDP;
	return HIKE_XDP_VM;
none:
	HVM_RET = -ENOENT;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(ip6_find_udp);

#ifndef HIKE_BODIES_ONLY	/* raw/ddos_inline.bpf.c includes this file for its bodies */
char _license[] SEC("license") = "Dual MIT/GPL";
#endif
