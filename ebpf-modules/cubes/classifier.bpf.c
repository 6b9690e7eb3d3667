/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* A built-in cube (`cube add NAME classifier`): IPv6 packets go out of port 0, everything
 * else to the kernel's stack. The first cube of lesson 5's chains. */
#include <cube/cube.h>

SEC("xdp")
int cube_classifier(struct xdp_md *ctx)
{
	struct ethhdr *eth = hike_pkt_ptr(ctx, 0, sizeof(*eth));

	cube_rx();
	if (!eth || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return cube_pass();
	return cube_forward(ctx, 0);
}

char _license[] SEC("license") = "Dual MIT/GPL";
