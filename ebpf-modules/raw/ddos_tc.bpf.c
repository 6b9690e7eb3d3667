/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The lesson 8 DDoS policy as separately verified XDP programs chained by hand: one program
 * per program call of the HIKe chain, constant-key tail calls between them, and the event
 * code for the monitor step passed in a per-CPU scratch value (the way HIKe passes
 * arguments). Same maps, decisions and counters as ddos.bpf.c. It is the cheapest way to
 * compose the policy from separate programs, so `eclat-lab bench` shows what composition
 * itself costs (against the fused program) apart from what the HIKe VM adds (against this). */
#include "ddos_policy.h"

enum {
	DTC_HSET = 1,	/* blacklisted? (clears an expired entry) */
	DTC_SAMPLE,	/* 1 in SAMPLE_EVERY of a blacklisted flow goes to the collector */
	DTC_DST_TB,	/* destination in profile? */
	DTC_SD_TB,	/* (src, dst) in profile? */
	DTC_BL_ADD,	/* blacklist the flow */
	DTC_MON,	/* count the event, then the verdict step */
	DTC_PASS,
	DTC_DROP,
	DTC_REDIRECT,
	DTC_SLOTS
};

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, DTC_SLOTS);
} dtc_progs SEC(".maps");

struct dtc_scratch {
	__u32 event;
	__u32 next;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct dtc_scratch);
	__uint(max_entries, 1);
} dtc_scratch SEC(".maps");

/* Count `event`, then end with the verdict step `next`. */
static __always_inline int dtc_monitor_then(struct xdp_md *ctx, __u32 event, __u32 next)
{
	__u32 zero = 0;
	struct dtc_scratch *s = bpf_map_lookup_elem(&dtc_scratch, &zero);

	if (!s)
		return XDP_ABORTED;
	s->event = event;
	s->next = next;
	bpf_tail_call_static(ctx, &dtc_progs, DTC_MON);
	return XDP_ABORTED;
}

SEC("xdp")
int dtc_classifier(struct xdp_md *ctx)
{
	if (!ddos_key(ctx))
		return XDP_PASS;
	bpf_tail_call_static(ctx, &dtc_progs, DTC_HSET);
	return XDP_ABORTED;
}

SEC("xdp")
int dtc_hset(struct xdp_md *ctx)
{
	const struct ipv6_sd_key *key = ddos_key(ctx);
	struct hset_value *bl;
	__u64 now;

	if (!key)
		return XDP_ABORTED;
	now = bpf_ktime_get_ns();
	bl = bpf_map_lookup_elem(&ddos_blacklist, key);
	if (bl) {
		if (now - bl->timestamp_ns < bl->timeout_ns) {
			bpf_tail_call_static(ctx, &dtc_progs, DTC_SAMPLE);
			return XDP_ABORTED;
		}
		bpf_map_delete_elem(&ddos_blacklist, key);
	}
	bpf_tail_call_static(ctx, &dtc_progs, DTC_DST_TB);
	return XDP_ABORTED;
}

SEC("xdp")
int dtc_sample(struct xdp_md *ctx)
{
	const struct ipv6_sd_key *key = ddos_key(ctx);
	__u64 *left, init;

	if (!key)
		return XDP_ABORTED;
	left = bpf_map_lookup_elem(&ddos_sampler, key);
	if (!left) {
		init = SAMPLE_EVERY - 1;
		bpf_map_update_elem(&ddos_sampler, key, &init, BPF_ANY);
		return dtc_monitor_then(ctx, 1, DTC_DROP);
	}
	if (*left == 0 || *left > SAMPLE_EVERY)
		*left = SAMPLE_EVERY;
	*left -= 1;
	if (*left == 0)
		return dtc_monitor_then(ctx, 2, DTC_REDIRECT);
	return dtc_monitor_then(ctx, 1, DTC_DROP);
}

SEC("xdp")
int dtc_dst_tb(struct xdp_md *ctx)
{
	const struct ipv6_sd_key *key = ddos_key(ctx);

	if (!key)
		return XDP_ABORTED;
	if (tb_consume(&ddos_dst_tb, &key->daddr, bpf_ktime_get_ns()) == 0)
		return dtc_monitor_then(ctx, 0, DTC_PASS);
	bpf_tail_call_static(ctx, &dtc_progs, DTC_SD_TB);
	return XDP_ABORTED;
}

SEC("xdp")
int dtc_sd_tb(struct xdp_md *ctx)
{
	const struct ipv6_sd_key *key = ddos_key(ctx);

	if (!key)
		return XDP_ABORTED;
	if (tb_consume(&ddos_sd_tb, key, bpf_ktime_get_ns()) == 0)
		return dtc_monitor_then(ctx, 0, DTC_PASS);
	bpf_tail_call_static(ctx, &dtc_progs, DTC_BL_ADD);
	return XDP_ABORTED;
}

SEC("xdp")
int dtc_bl_add(struct xdp_md *ctx)
{
	const struct ipv6_sd_key *key = ddos_key(ctx);
	struct hset_value nbl;

	if (!key)
		return XDP_ABORTED;
	nbl.timestamp_ns = bpf_ktime_get_ns();
	nbl.timeout_ns = BL_TIMEOUT_NS;
	bpf_map_update_elem(&ddos_blacklist, key, &nbl, BPF_ANY);
	return dtc_monitor_then(ctx, 1, DTC_DROP);
}

SEC("xdp")
int dtc_mon(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct dtc_scratch *s = bpf_map_lookup_elem(&dtc_scratch, &zero);

	if (!s)
		return XDP_ABORTED;
	mon(s->event);
	/* one constant-key tail call per verdict step */
	switch (s->next) {
	case DTC_PASS:
		bpf_tail_call_static(ctx, &dtc_progs, DTC_PASS);
		break;
	case DTC_DROP:
		bpf_tail_call_static(ctx, &dtc_progs, DTC_DROP);
		break;
	case DTC_REDIRECT:
		bpf_tail_call_static(ctx, &dtc_progs, DTC_REDIRECT);
		break;
	}
	return XDP_ABORTED;
}

SEC("xdp")
int dtc_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int dtc_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("xdp")
int dtc_redirect(struct xdp_md *ctx)
{
	__u32 clt = ddos_collector();

	return clt ? bpf_redirect(clt, 0) : XDP_DROP;
}

char _license[] SEC("license") = "Dual MIT/GPL";
