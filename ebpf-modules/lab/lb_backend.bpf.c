// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Lesson 4's backend side: each backend of the load-balancer lab runs this on its interface
 * and counts what really arrived, independently of what the load balancer believes it sent.
 *   lb_rx        backend address -> IPv4 UDP/TCP packets received (the TUI's panel)
 *   lb_rx_flows  (backend address, source port) -> packets: which backend each flow reached
 *   lb_rx_bad    0: IPv4 header checksum wrong, 1: UDP checksum wrong
 * Every packet passes on to the backend's stack. Addresses are kept as the packet carries
 * them (network order: `map dump` shows them as addresses). The maps are shared by every
 * backend (one program, attached several times). */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct rx_backend {
	__u8 addr[4]; /* the destination address: the backend's */
};

struct rx_flow {
	__u8 addr[4]; /* the backend's address */
	__u16 sport;  /* the flow's source port, host order */
	__u16 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct rx_backend);
	__type(value, __u64);
	__uint(max_entries, 64);
} lb_rx SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct rx_flow);
	__type(value, __u64);
	__uint(max_entries, 4096);
} lb_rx_flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} lb_rx_bad SEC(".maps");

static __always_inline __u32 fold(__u32 s)
{
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s;
}

static __always_inline void bump(void *map, const void *key)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(map, key);

	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
}

static __always_inline void bad(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&lb_rx_bad, &which);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* A copy of the datagram being checked: one buffer per CPU. */
struct dgram {
	__u8 b[1536];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct dgram);
	__uint(max_entries, 1);
} lb_rx_buf SEC(".maps");

/* The one's-complement sum of the `len` bytes of the UDP datagram at offset `off` (at most
 * 1480): copied out of the packet, padded with zeros to whole 32-bit words and summed in
 * three bpf_csum_diff calls of at most 512 bytes. No loop: the verifier's work stays
 * small. Returns -1 when it cannot be read. */
static __always_inline __s64 udp_sum(struct xdp_md *ctx, __u32 off, __u32 len)
{
	__u32 key = 0, padded, s1, s2, s3;
	struct dgram *d = bpf_map_lookup_elem(&lb_rx_buf, &key);
	__s64 a, b, c;

	if (!d)
		return -1;
	/* two tests the verifier sees on `len` itself: clang would fuse them into one unsigned
	 * test of `len - 8` in another register, whose bounds verifiers before Linux 6.12 do not
	 * carry back to `len` (6.1 then rejects the copy below: unbounded size) */
	if (len < 8)
		return -1;
	barrier_var(len);
	if (len > 1480)
		return -1;
	if (bpf_xdp_load_bytes(ctx, off, d->b, len) < 0)
		return -1;
	d->b[len] = 0;
	d->b[len + 1] = 0;
	d->b[len + 2] = 0;
	padded = (len + 3) & ~3U;
	s1 = padded > 512 ? 512 : padded;
	s2 = padded > 1024 ? 512 : padded > 512 ? padded - 512 : 0;
	s3 = padded > 1024 ? padded - 1024 : 0;
	if (s2 > 512 || s3 > 460)
		return -1;
	/* the masks change no value (s2 <= 512, s3 <= 460, both multiples of 4) but bound the
	 * sizes in the very registers passed (barrier_var keeps clang, which knows the masks
	 * change nothing, from dropping them): Debian 12's 6.1 verifier loses the bounds of
	 * the tests above on the way to the calls and calls the sizes unbounded */
	barrier_var(s2);
	s2 &= 0x3fc;
	barrier_var(s3);
	s3 &= 0x1fc;
	a = bpf_csum_diff(0, 0, (void *)d->b, s1, 0);
	b = bpf_csum_diff(0, 0, (void *)(d->b + 512), s2, 0);
	c = bpf_csum_diff(0, 0, (void *)(d->b + 1024), s3, 0);
	if (a < 0 || b < 0 || c < 0)
		return -1;
	return (__u32)a + (__s64)(__u32)b + (__u32)c;
}

SEC("xdp")
int lb_backend(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct rx_flow f = {};
	struct rx_backend b = {};
	__u16 *w;
	__u32 sum = 0, i, hlen;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end || ip->ihl < 5)
		return XDP_PASS;
	if (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP)
		return XDP_PASS;
	hlen = ip->ihl * 4;
	/* options or not, the header's 16-bit words sum to all ones when it is intact */
	w = (__u16 *)ip;
	for (i = 0; i < 30; i++) {
		if (i * 2 >= hlen)
			break;
		barrier_var(w); /* keeps clang from moving the bound check onto data_end */
		if ((void *)(w + 1) > data_end)
			return XDP_PASS;
		sum += *w;
		w++;
	}
	if (fold(sum) != 0xffff)
		bad(0);

	__builtin_memcpy(b.addr, &ip->daddr, 4);
	__builtin_memcpy(f.addr, &ip->daddr, 4);
	if (ip->protocol == IPPROTO_UDP && hlen == sizeof(*ip)) {
		struct udphdr *udp = (void *)(ip + 1);
		__u32 ulen;
		__s64 s;

		if ((void *)(udp + 1) > data_end)
			return XDP_PASS;
		f.sport = bpf_ntohs(udp->source);
		ulen = bpf_ntohs(udp->len);
		if (udp->check) {
			s = udp_sum(ctx, (void *)udp - data, ulen);
			if (s < 0)
				return XDP_PASS;
			/* the pseudo-header: addresses, protocol, length */
			s += (ip->saddr & 0xffff) + (ip->saddr >> 16);
			s += (ip->daddr & 0xffff) + (ip->daddr >> 16);
			s += bpf_htons(IPPROTO_UDP) + udp->len;
			s = (s & 0xffffffff) + (s >> 32);
			s = (s & 0xffffffff) + (s >> 32);
			if (fold((__u32)s) != 0xffff)
				bad(1);
		}
	}
	bump(&lb_rx, &b);
	bump(&lb_rx_flows, &f);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
