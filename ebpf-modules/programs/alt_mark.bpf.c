/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.alt_mark: ip6_alt_mark(), the counting point of the Alternate-Marking Method
 * (RFC 9341) for IPv6. The sender colours its packets with one bit and flips the bit every
 * period (a block of packets); each measurement point counts packets per colour, so that while
 * one colour is in use the other colour's counters are stable and can be read and compared
 * between two points (packet loss) or timed (delay). The lab's version carries the colour in
 * the least significant bit of the IPv6 flow label (the original's placement is not public;
 * RFC 9343 puts it in an option instead).
 *
 * ip6_alt_mark() -> the packet's colour (0 or 1), -EINVAL when it is not IPv6; counts the
 * packet and its IPv6 length (header + payload) in ip6_alt_mark_map[colour]; continues. */
#include <hike/api.h>
#include <hike/parse.h>
#include <linux/errno.h>

#define ALT_MARK_COLOR_BIT	0x01	/* of the flow label's last byte */
EXPORT_HIKE_CONST(ALT_MARK_COLOR_BIT);

struct alt_mark_counter {
	__u64 packets;
	__u64 bytes;
};
bpf_map(ip6_alt_mark_map, ARRAY, __u32, struct alt_mark_counter, 2);

HIKE_PROG(ip6_alt_mark)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	struct alt_mark_counter *c;
	struct ipv6hdr *ip6;
	__u32 color;

	if (!pi || !(ip6 = hike_ip6hdr(ctx, pi))) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	color = ip6->flow_lbl[2] & ALT_MARK_COLOR_BIT;
	c = bpf_map_lookup_elem(&ip6_alt_mark_map, &color);
	if (c) {
		__sync_fetch_and_add(&c->packets, 1);
		__sync_fetch_and_add(&c->bytes, sizeof(*ip6) + bpf_ntohs(ip6->payload_len));
	}
	HVM_RET = color;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(ip6_alt_mark);
EXPORT_HIKE_PROG_MAP(ip6_alt_mark, ip6_alt_mark_map);

char _license[] SEC("license") = "Dual MIT/GPL";
