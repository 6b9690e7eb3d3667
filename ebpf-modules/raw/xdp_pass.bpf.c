/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* A plain always-pass XDP program: attached to the receiving end of a veth so that
 * XDP_REDIRECT into it works, and the baseline of every benchmark. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "Dual MIT/GPL";
