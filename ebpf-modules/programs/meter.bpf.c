/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.meter: per-destination and per-(src,dst) packet counters and token-bucket monitors. */
#include <hike/api.h>
#include <hike/parse.h>
#include <hike/clock.h>
#include <linux/errno.h>

#define HIKE_TB_RATE	20	/* tokens per second */
#define HIKE_TB_BUCKET	5	/* bucket size in tokens */
#define HIKE_TB_IN_PROFILE	0
#define HIKE_TB_OUT_PROFILE	-1
EXPORT_HIKE_CONST(HIKE_TB_RATE);
EXPORT_HIKE_CONST(HIKE_TB_BUCKET);
EXPORT_HIKE_CONST(HIKE_TB_IN_PROFILE);
EXPORT_HIKE_CONST(HIKE_TB_OUT_PROFILE);

#define NS_PER_SEC 1000000000ULL

struct token_bucket {
	__u64 tokens_ns;	/* tokens x 10^9 */
	__u64 last_ns;
};

/* Returns 0 (in profile) when a token was available, -1 otherwise. */
static __always_inline int tb_consume(void *map, const void *key)
{
	__u64 now = hike_now_ns(), elapsed, cap = HIKE_TB_BUCKET * NS_PER_SEC;
	struct token_bucket *tb = bpf_map_lookup_elem(map, key), nb;

	if (!tb) {
		nb.tokens_ns = cap - NS_PER_SEC;
		nb.last_ns = now;
		bpf_map_update_elem(map, key, &nb, BPF_ANY);
		return HIKE_TB_IN_PROFILE;
	}
	elapsed = now - tb->last_ns;
	if (elapsed > NS_PER_SEC * HIKE_TB_BUCKET)
		elapsed = NS_PER_SEC * HIKE_TB_BUCKET;
	tb->tokens_ns += elapsed * HIKE_TB_RATE;
	if (tb->tokens_ns > cap)
		tb->tokens_ns = cap;
	tb->last_ns = now;
	if (tb->tokens_ns < NS_PER_SEC)
		return HIKE_TB_OUT_PROFILE;
	tb->tokens_ns -= NS_PER_SEC;
	return HIKE_TB_IN_PROFILE;
}

static __always_inline struct ipv6hdr *ip6_of(struct xdp_md *ctx)
{
	struct hike_pkt_info *pi = hike_pcpu_pkt_info();

	return pi ? hike_ip6hdr(ctx, pi) : 0;
}

static __always_inline __u64 count(void *map, const void *key)
{
	__u64 one = 1, *c = bpf_map_lookup_elem(map, key);

	if (c)
		return __sync_fetch_and_add(c, 1) + 1;
	bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
	return 1;
}

bpf_map(ip6_dst_meter_map, LRU_HASH, struct in6_addr, __u64, 4096);
HIKE_PROG(ip6_dst_meter)
{
	struct ipv6hdr *ip6 = ip6_of(ctx);

	if (!ip6) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	HVM_RET = count(&ip6_dst_meter_map, &ip6->daddr);
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(ip6_dst_meter);
EXPORT_HIKE_PROG_MAP(ip6_dst_meter, ip6_dst_meter_map);

bpf_map(ip6_sd_meter_map, LRU_HASH, struct ipv6_sd_key, __u64, 4096);
HIKE_PROG(ip6_sd_meter)
{
	struct ipv6hdr *ip6 = ip6_of(ctx);

	if (!ip6) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	HVM_RET = count(&ip6_sd_meter_map, hike_ip6_sd_key(ip6));
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(ip6_sd_meter);
EXPORT_HIKE_PROG_MAP(ip6_sd_meter, ip6_sd_meter_map);

bpf_map(ip6_dst_tbmon_map, LRU_HASH, struct in6_addr, struct token_bucket, 4096);
HIKE_PROG(ip6_dst_tbmon)
{
	struct ipv6hdr *ip6 = ip6_of(ctx);

	if (!ip6) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	HVM_RET = (__s64)tb_consume(&ip6_dst_tbmon_map, &ip6->daddr);
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(ip6_dst_tbmon);
EXPORT_HIKE_PROG_MAP(ip6_dst_tbmon, ip6_dst_tbmon_map);

bpf_map(ip6_sd_tbmon_map, LRU_HASH, struct ipv6_sd_key, struct token_bucket, 4096);
HIKE_PROG(ip6_sd_tbmon)
{
	struct ipv6hdr *ip6 = ip6_of(ctx);

	if (!ip6) {
		HVM_RET = -EINVAL;
		return HIKE_XDP_VM;
	}
	HVM_RET = (__s64)tb_consume(&ip6_sd_tbmon_map, hike_ip6_sd_key(ip6));
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(ip6_sd_tbmon);
EXPORT_HIKE_PROG_MAP(ip6_sd_tbmon, ip6_sd_tbmon_map);

#ifndef HIKE_BODIES_ONLY	/* raw/ddos_inline.bpf.c includes this file for its bodies */
char _license[] SEC("license") = "Dual MIT/GPL";
#endif
