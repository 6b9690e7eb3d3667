/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The lesson 8 DDoS policy's state and building blocks, shared by the two hand-written
 * baselines: ddos.bpf.c (one fused program) and ddos_tc.bpf.c (one program per step, chained
 * with tail calls). Each object that includes this gets its own maps. */
#ifndef RAW_DDOS_POLICY_H
#define RAW_DDOS_POLICY_H

#include <hike/hike.h>
#include <hike/parse.h>

#define NS_PER_SEC	1000000000ULL
#define TB_RATE		20
#define TB_BUCKET	5
#define BL_TIMEOUT_NS	(10 * NS_PER_SEC)
#define SAMPLE_EVERY	500

struct token_bucket {
	__u64 tokens_ns;
	__u64 last_ns;
};
struct hset_value {
	__u64 timestamp_ns;
	__u64 timeout_ns;
};

struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, struct ipv6_sd_key);
	 __type(value, struct hset_value); __uint(max_entries, 8192); } ddos_blacklist SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __type(key, struct ipv6_sd_key);
	 __type(value, __u64); __uint(max_entries, 4096); } ddos_sampler SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __type(key, struct in6_addr);
	 __type(value, struct token_bucket); __uint(max_entries, 4096); } ddos_dst_tb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __type(key, struct ipv6_sd_key);
	 __type(value, struct token_bucket); __uint(max_entries, 4096); } ddos_sd_tb SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __type(key, __u32);
	 __type(value, __u64); __uint(max_entries, 64); } ddos_mon SEC(".maps");
/* [0] = collector ifindex */
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __type(key, __u32);
	 __type(value, __u32); __uint(max_entries, 1); } ddos_cfg SEC(".maps");

static __always_inline int tb_consume(void *map, const void *key, __u64 now)
{
	__u64 elapsed, cap = TB_BUCKET * NS_PER_SEC;
	struct token_bucket *tb = bpf_map_lookup_elem(map, key), nb;

	if (!tb) {
		nb.tokens_ns = cap - NS_PER_SEC;
		nb.last_ns = now;
		bpf_map_update_elem(map, key, &nb, BPF_ANY);
		return 0;
	}
	elapsed = now - tb->last_ns;
	if (elapsed > NS_PER_SEC * TB_BUCKET)
		elapsed = NS_PER_SEC * TB_BUCKET;
	tb->tokens_ns += elapsed * TB_RATE;
	if (tb->tokens_ns > cap)
		tb->tokens_ns = cap;
	tb->last_ns = now;
	if (tb->tokens_ns < NS_PER_SEC)
		return -1;
	tb->tokens_ns -= NS_PER_SEC;
	return 0;
}

static __always_inline void mon(__u32 ev)
{
	__u64 one = 1, *cnt = bpf_map_lookup_elem(&ddos_mon, &ev);

	if (cnt)
		*cnt += 1;
	else
		bpf_map_update_elem(&ddos_mon, &ev, &one, BPF_NOEXIST);
}

/* The (source, destination) key of an IPv6 frame, in the packet (hike_ip6_sd_key); NULL for
 * anything else. */
static __always_inline const struct ipv6_sd_key *ddos_key(struct xdp_md *ctx)
{
	struct ethhdr *eth = hike_pkt_ptr(ctx, 0, sizeof(*eth));
	struct ipv6hdr *ip6;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return 0;
	ip6 = hike_pkt_ptr(ctx, sizeof(*eth), sizeof(*ip6));
	return ip6 ? hike_ip6_sd_key(ip6) : 0;
}

/* The collector's ifindex, 0 when none is configured. */
static __always_inline __u32 ddos_collector(void)
{
	__u32 zero = 0, *clt = bpf_map_lookup_elem(&ddos_cfg, &zero);

	return clt ? *clt : 0;
}

#endif
