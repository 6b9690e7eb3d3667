/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* hike/clock.h: the time as programs read it. */
#ifndef HIKE_CLOCK_H
#define HIKE_CLOCK_H

#include <hike/api.h>

/* The time, ns: hvm_config's test clock (its `reserved` field, in ms) when it is set, else
 * bpf_ktime_get_ns(). Tests stop and advance that clock to make what depends on time (token
 * buckets, blacklist expiry, gaps between packets) exact under BPF_PROG_TEST_RUN and real
 * traffic; the lab itself never sets it. What the test clock costs the normal path: in a
 * linked chain (what `load` installs) one load and one branch, the configuration being read
 * in place (__hike_config); elsewhere the lookup of a one-entry array, which the verifier
 * inlines, before them. */
static __always_inline __u64 hike_now_ns(void)
{
	struct hvm_config *cfg = __hike_config();

	if (cfg && cfg->reserved)
		return (__u64)cfg->reserved * 1000000ULL;
	return bpf_ktime_get_ns();
}

#endif
