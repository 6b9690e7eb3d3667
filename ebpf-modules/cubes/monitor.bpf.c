/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* A built-in cube (`cube add NAME monitor`): counts packets by class (the UDP destination
 * port, 0 for anything that is not UDP) in `mon_class`, then sends them out of port 0, or to
 * the kernel's stack when nothing is connected there (the end of a chain). */
#include <cube/cube.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} mon_class SEC(".maps");

SEC("xdp")
int cube_monitor(struct xdp_md *ctx)
{
	__u32 class = cube_udp_dport(ctx);
	__u64 one = 1, *n;

	cube_rx();
	n = bpf_map_lookup_elem(&mon_class, &class);
	if (n)
		*n += 1;
	else
		bpf_map_update_elem(&mon_class, &class, &one, BPF_NOEXIST);
	/* the last cube of a chain: nothing on port 0 is not an error here */
	return cube_forward_or_pass(ctx, 0);
}

char _license[] SEC("license") = "Dual MIT/GPL";
