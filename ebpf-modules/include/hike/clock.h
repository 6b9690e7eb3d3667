/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* hike/clock.h: the time as programs read it. */
#ifndef HIKE_CLOCK_H
#define HIKE_CLOCK_H

#include <hike/api.h>

/* The time, ns: hvm_config's test clock (its `reserved` field, in ms) when it is set, else
 * bpf_ktime_get_ns(). Tests stop and advance that clock to make what depends on time (token
 * buckets, blacklist expiry, gaps between packets) exact under BPF_PROG_TEST_RUN and real
 * traffic; the lab itself never sets it. The lookup of a one-entry array is inlined by the
 * verifier: a load and a branch more than the helper alone. */
static __always_inline __u64 hike_now_ns(void)
{
	__u32 zero = 0;
	struct hvm_config *cfg = bpf_map_lookup_elem(&hvm_config, &zero);

	if (cfg && cfg->reserved)
		return (__u64)cfg->reserved * 1000000ULL;
	return bpf_ktime_get_ns();
}

#endif
