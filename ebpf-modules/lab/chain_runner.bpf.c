/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The lab's own loader for `eclat-lab test --chain NAME`: every packet, whatever its protocol,
 * goes to the chain in chain_runner_map[0] (its pkt_info filled as by any loader), so that a
 * chain can be tried before a script wires it to a loader. Not importable from eCLAT (it is
 * not under loaders/); no chain set: the packet passes. */
#include <hike/loader.h>

bpf_map(chain_runner_map, ARRAY, __u32, __u32, 1);
SEC("xdp")
int chain_runner(struct xdp_md *ctx)
{
	__u32 zero = 0, *chain;
	__u16 proto;
	__u8 l4;

	if (hike_loader_parse(ctx, &proto, &l4))
		return XDP_ABORTED;
	chain = bpf_map_lookup_elem(&chain_runner_map, &zero);
	if (!chain || !*chain)
		return XDP_PASS;
	return hike_chain_boot(ctx, *chain);
}
EXPORT_HIKE_LOADER(chain_runner);
EXPORT_HIKE_MAP(chain_runner, chain_runner_map);

char _license[] SEC("license") = "Dual MIT/GPL";
