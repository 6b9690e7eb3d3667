/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Lesson 5, exercise insert-firewall: a firewall cube.
 *
 * It will be inserted between the classifier and the monitor of a running chain:
 *
 *     sut:enp6s0f0 -> cls -port 0-> fw -port 0-> mon
 *
 * What it must do with each packet:
 *   - UDP to BLOCKED_PORT: drop it, on purpose, and count the drop by class (UDP
 *     destination port) in fw_dropped, so that an operator can see what it blocked;
 *   - anything else: send it on, out of port 0, to whatever cube is connected there.
 *
 * <cube/cube.h> gives you the cube's ports (cube_ports) and counters (cube_stats), and:
 *   cube_rx()                 count the packet in (first line of the program)
 *   cube_drop()               count a drop and return XDP_DROP
 *   cube_forward(ctx, PORT)   tail call into the cube on port PORT (never returns when
 *                             something is connected; counts a miss and drops otherwise)
 *   cube_pass()               count and return XDP_PASS (the kernel's stack)
 *   cube_udp_dport(ctx)       the packet's UDP destination port, 0 when not UDP
 */
#include <cube/cube.h>

#define BLOCKED_PORT 6000

/* class (UDP destination port) -> packets this cube dropped */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
} fw_dropped SEC(".maps");

SEC("xdp")
int firewall(struct xdp_md *ctx)
{
	cube_rx();
	/* TODO: block BLOCKED_PORT (count it in fw_dropped), send the rest out of port 0.
	 * As it stands, this cube hands every packet to the kernel's stack: inserted into the
	 * chain, it cuts the monitor off. */
	return cube_pass();
}

char _license[] SEC("license") = "Dual MIT/GPL";
