/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.eip: hello(), the "hello world" of Extensible In-band Processing (EIP): recognise
 * a packet carrying EIP information and count it. The lab's version (the original's module is
 * not public, and EIP has no IANA code point yet) looks for an IPv6 hop-by-hop option of type
 * EIP_OPT_TYPE = 0x3e, an experimental option type (RFC 4727) whose two high bits say "skip
 * it if you do not know it" and whose third bit says "its data may change on the way", in a
 * hop-by-hop header right after the IPv6 header.
 *
 * hello() -> 1 when the packet carries the EIP option, 0 when it does not, -EINVAL when it
 * is not IPv6; counts eip_hello_map[0] (with EIP) or eip_hello_map[1] (IPv6 without);
 * continues the chain. */
#include <hike/api.h>
#include <hike/parse.h>
#include <linux/errno.h>

#define EIP_OPT_TYPE		0x3e
#define EIP_MAX_OPTIONS		16	/* options looked at in the hop-by-hop header */
EXPORT_HIKE_CONST(EIP_OPT_TYPE);

bpf_map(eip_hello_map, ARRAY, __u32, __u64, 2);

/* Is there an option of type EIP_OPT_TYPE in the hop-by-hop header at packet offset off? */
static __always_inline int eip_option(struct xdp_md *ctx, __u32 off)
{
	__u8 *h = hike_pkt_ptr(ctx, off, 2), *o;
	__u32 len, at, i;

	if (!h)
		return 0;
	len = (h[1] + 1) * 8;
	at = 2;
	for (i = 0; i < EIP_MAX_OPTIONS; i++) {
		if (at >= len)
			return 0;
		o = hike_pkt_ptr(ctx, off + at, 1);
		if (!o)
			return 0;
		if (o[0] == 0) {	/* Pad1: one byte, no length */
			at += 1;
			continue;
		}
		o = hike_pkt_ptr(ctx, off + at, 2);
		if (!o)
			return 0;
		if (o[0] == EIP_OPT_TYPE)
			return at + 2 + o[1] <= len;
		at += 2 + o[1];
	}
	return 0;
}

HIKE_PROG(hello)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	struct ipv6hdr *ip6;
	__u32 key;
	__u64 *n;
	int found;

	if (!pi || !(ip6 = hike_ip6hdr(ctx, pi))) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	found = ip6->nexthdr == NEXTHDR_HOP && eip_option(ctx, pi->nhoff + sizeof(*ip6));
	key = found ? 0 : 1;
	n = bpf_map_lookup_elem(&eip_hello_map, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	HVM_RET = found;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(hello);
EXPORT_HIKE_PROG_MAP(hello, eip_hello_map);

char _license[] SEC("license") = "Dual MIT/GPL";
