/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The lesson 6 DDoS policy written by hand as one XDP program: the baseline the HIKe chain is
 * measured against. Same maps, same decisions, same order as the chain:
 *   blacklisted (src,dst)?  -> 1 in 500 redirected to the collector, the rest dropped
 *   destination in profile? -> pass
 *   (src,dst) out of profile -> blacklist for 10 s, drop; otherwise pass
 * Every decision is counted in ddos_mon (0 = PASS, 1 = DROP, 2 = REDIRECT). */
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

SEC("xdp")
int ddos_raw(struct xdp_md *ctx)
{
	struct ethhdr *eth = hike_pkt_ptr(ctx, 0, sizeof(*eth));
	struct ipv6hdr *ip6;
	struct ipv6_sd_key key;
	struct in6_addr dst;
	struct hset_value *bl, nbl;
	__u64 now, *left, init;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	ip6 = hike_pkt_ptr(ctx, sizeof(*eth), sizeof(*ip6));
	if (!ip6)
		return XDP_PASS;
	__builtin_memcpy(&key.saddr, &ip6->saddr, 16);
	__builtin_memcpy(&key.daddr, &ip6->daddr, 16);
	now = bpf_ktime_get_ns();

	bl = bpf_map_lookup_elem(&ddos_blacklist, &key);
	if (bl) {
		if (now - bl->timestamp_ns < bl->timeout_ns) {
			left = bpf_map_lookup_elem(&ddos_sampler, &key);
			if (!left) {
				init = SAMPLE_EVERY - 1;
				bpf_map_update_elem(&ddos_sampler, &key, &init, BPF_ANY);
			} else {
				if (*left == 0 || *left > SAMPLE_EVERY)
					*left = SAMPLE_EVERY;
				*left -= 1;
				if (*left == 0) {
					__u32 zero = 0, *clt = bpf_map_lookup_elem(&ddos_cfg, &zero);

					mon(2);
					if (!clt || !*clt)
						return XDP_DROP;
					return bpf_redirect(*clt, 0);
				}
			}
			mon(1);
			return XDP_DROP;
		}
		bpf_map_delete_elem(&ddos_blacklist, &key);
	}
	__builtin_memcpy(&dst, &ip6->daddr, 16);
	if (tb_consume(&ddos_dst_tb, &dst, now) == 0) {
		mon(0);
		return XDP_PASS;
	}
	if (tb_consume(&ddos_sd_tb, &key, now) != 0) {
		nbl.timestamp_ns = now;
		nbl.timeout_ns = BL_TIMEOUT_NS;
		bpf_map_update_elem(&ddos_blacklist, &key, &nbl, BPF_ANY);
		mon(1);
		return XDP_DROP;
	}
	mon(0);
	return XDP_PASS;
}

char _license[] SEC("license") = "Dual MIT/GPL";
