/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The lesson 8 DDoS policy written by hand as one XDP program: the baseline the HIKe chain is
 * measured against. Same maps, same decisions, same order as the chain:
 *   blacklisted (src,dst)?  -> 1 in 500 redirected to the collector, the rest dropped
 *   destination in profile? -> pass
 *   (src,dst) out of profile -> blacklist for 10 s, drop; otherwise pass
 * Every decision is counted in ddos_mon (0 = PASS, 1 = DROP, 2 = REDIRECT).
 *
 * Built twice more, with DDOS_STAGE=1 and 2 (raw/ddos_stage1.o, ddos_stage2.o), for the
 * bench's stage-by-stage rows: a packet of a blacklisted flow then ends with XDP_DROP right
 * after the blacklist lookup (1) or after the sampling countdown (2), as the HIKe chain cut
 * after ip6_hset_srcdst or ip6_sd_dec2zero does. */
#include "ddos_policy.h"

SEC("xdp")
int ddos_raw(struct xdp_md *ctx)
{
	struct ethhdr *eth = hike_pkt_ptr(ctx, 0, sizeof(*eth));
	struct ipv6hdr *ip6;
	const struct ipv6_sd_key *key;
	struct hset_value *bl, nbl;
	__u64 now, *left, init;

	if (!eth || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	ip6 = hike_pkt_ptr(ctx, sizeof(*eth), sizeof(*ip6));
	if (!ip6)
		return XDP_PASS;
	key = hike_ip6_sd_key(ip6);
	now = bpf_ktime_get_ns();

	bl = bpf_map_lookup_elem(&ddos_blacklist, key);
	if (bl) {
		if (now - bl->timestamp_ns < bl->timeout_ns) {
#if DDOS_STAGE == 1
			return XDP_DROP;
#endif
			left = bpf_map_lookup_elem(&ddos_sampler, key);
			if (!left) {
				init = SAMPLE_EVERY - 1;
				bpf_map_update_elem(&ddos_sampler, key, &init, BPF_ANY);
			} else {
				if (*left == 0 || *left > SAMPLE_EVERY)
					*left = SAMPLE_EVERY;
				*left -= 1;
#if DDOS_STAGE == 2
				return XDP_DROP;
#endif
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
		bpf_map_delete_elem(&ddos_blacklist, key);
	}
	if (tb_consume(&ddos_dst_tb, &ip6->daddr, now) == 0) {
		mon(0);
		return XDP_PASS;
	}
	if (tb_consume(&ddos_sd_tb, key, now) != 0) {
		nbl.timestamp_ns = now;
		nbl.timeout_ns = BL_TIMEOUT_NS;
		bpf_map_update_elem(&ddos_blacklist, key, &nbl, BPF_ANY);
		mon(1);
		return XDP_DROP;
	}
	mon(0);
	return XDP_PASS;
}

char _license[] SEC("license") = "Dual MIT/GPL";
