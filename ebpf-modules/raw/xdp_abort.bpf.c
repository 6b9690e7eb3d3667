/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* A plain always-abort XDP program: every packet it sees raises the xdp:xdp_exception
 * tracepoint. Checks attach it beside the program a learner's trace must single out, so
 * that a probe which counts every program's aborts counts too many. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_abort(struct xdp_md *ctx)
{
	return XDP_ABORTED;
}

char _license[] SEC("license") = "Dual MIT/GPL";
