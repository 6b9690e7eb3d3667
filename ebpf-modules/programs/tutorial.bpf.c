/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.tutorial: dpi(offset, length), the tutorial's deep packet inspection: does the UDP
 * payload hold one of the patterns of dpi_patterns? The original's module is not public;
 * this is the lab's own version.
 *
 * dpi(offset, length) -> the ID (1..7, its index in dpi_patterns) of the first pattern found
 * in the payload bytes offset .. offset + length - 1 (length at most DPI_WINDOW; the window
 * ends with the packet), 0 when none is found or the packet is not UDP (right after its IPv6
 * or IPv4 header). Patterns are tried in the order of their IDs: the lowest ID found wins. A
 * pattern is 1..DPI_MAX_LEN bytes; entry 0 and entries of length 0 are unused. Each match is
 * counted in dpi_hits[ID]. Continues the chain. */
#include <hike/api.h>
#include <hike/parse.h>

#define DPI_MAX_PATTERNS	8
#define DPI_MAX_LEN		8
#define DPI_WINDOW		64
EXPORT_HIKE_CONST(DPI_MAX_PATTERNS);
EXPORT_HIKE_CONST(DPI_MAX_LEN);
EXPORT_HIKE_CONST(DPI_WINDOW);

struct dpi_pattern {
	__u8 bytes[DPI_MAX_LEN];
	__u32 len;
	__u32 pad;
};
bpf_map(dpi_patterns, ARRAY, __u32, struct dpi_pattern, DPI_MAX_PATTERNS);
bpf_map(dpi_hits, ARRAY, __u32, __u64, DPI_MAX_PATTERNS);

/* A pattern is compared as one 64-bit word, its bytes masked, at each of the window's
 * positions: no loop over bytes and one branch per position, which keeps what the verifier
 * walks small (each position's state is new to it: nothing is pruned). */
HIKE_PROG(dpi)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();
	__u64 offset = HVM_ARG2, length = HVM_ARG3, *hits, want, mask;
	/* the window, and 8 zero bytes after it so that a word read anywhere in it stays in */
	__u8 buf[DPI_WINDOW + DPI_MAX_LEN] = {};
	struct udphdr *udp;
	__u32 start, end, n, i, pos;

	HVM_RET = 0;
	udp = pi ? hike_udphdr(ctx, pi) : 0;
	if (!udp || offset > HIKE_OFF_MASK)
		return HIKE_XDP_VM;
	start = (__u32)pi->thoff + sizeof(*udp) + (__u32)offset;
	end = ctx->data_end - ctx->data;
	if (start >= end)
		return HIKE_XDP_VM;
	n = end - start;
	if (n > length)
		n = length;
	if (n > DPI_WINDOW)
		n = DPI_WINDOW;
	if (n == 0 || bpf_xdp_load_bytes(ctx, start, buf, n))
		return HIKE_XDP_VM;
	for (i = 1; i < DPI_MAX_PATTERNS; i++) {
		/* the key in its own variable: the loop counter stays in a register, where the
		 * verifier sees it grow (on the stack it would see the same state twice) */
		__u32 id = i;
		struct dpi_pattern *p = bpf_map_lookup_elem(&dpi_patterns, &id);

		if (!p || p->len == 0 || p->len > DPI_MAX_LEN || p->len > n)
			continue;
		want = *(__u64 *)p->bytes;
		mask = p->len == DPI_MAX_LEN ? ~0ULL : (1ULL << (8 * p->len)) - 1;
		for (pos = 0; pos < DPI_WINDOW; pos++) {
			__u64 diff = (*(__u64 *)&buf[pos] ^ want) & mask;
			/* top bit set when the pattern would end past the n bytes read: a test
			 * without a branch of its own, so that the verifier never narrows n (and
			 * so never sees a new state) at each position */
			__u64 past = (__u64)n - pos - p->len;

			/* an empty barrier: clang would turn `past >> 63` into branches */
			asm volatile("" : "+r"(past));
			if (diff | (past >> 63))
				continue;
			hits = bpf_map_lookup_elem(&dpi_hits, &id);
			if (hits)
				__sync_fetch_and_add(hits, 1);
			HVM_RET = id;
			return HIKE_XDP_VM;
		}
	}
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG_3(dpi, __u64, offset, __u64, length);
EXPORT_HIKE_PROG_MAP(dpi, dpi_patterns);
EXPORT_HIKE_PROG_MAP(dpi, dpi_hits);

char _license[] SEC("license") = "Dual MIT/GPL";
