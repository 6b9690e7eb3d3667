/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Lesson 5, exercise insert-firewall: a firewall cube (a solution).
 *
 *     sut:enp6s0f0 -> cls -port 0-> fw -port 0-> mon
 *
 * UDP to BLOCKED_PORT is dropped and counted by class in fw_dropped; everything else goes
 * out of port 0. */
#include <cube/cube.h>

#define BLOCKED_PORT 6000

/* class (UDP destination port) -> packets this cube dropped */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} fw_dropped SEC(".maps");

static __always_inline void count_drop(__u32 class)
{
	__u64 one = 1, *n = bpf_map_lookup_elem(&fw_dropped, &class);

	if (n)
		*n += 1;
	else
		bpf_map_update_elem(&fw_dropped, &class, &one, BPF_NOEXIST);
}

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	__u32 class = cube_udp_dport(ctx);

	cube_rx();
	if (class == BLOCKED_PORT) {
		count_drop(class);
		return cube_drop();
	}
	return cube_forward(ctx, 0);
}

char _license[] SEC("license") = "Dual MIT/GPL";
