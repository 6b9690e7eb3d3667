// SPDX-License-Identifier: GPL-2.0-only OR MIT
/* Lesson 1, design exercise "ping-wall": a wall against ping in front of sut.
 *
 * What it must do, for every frame that arrives:
 *   - an ICMPv6 echo request (IPv6 next header 58, ICMPv6 type 128) is dropped, and counted
 *     in walled[0];
 *   - everything else passes and is not counted: echo replies (type 129) and other ICMPv6
 *     messages, UDP, TCP, IPv4, and frames too short to hold the headers you look at.
 * Only the first next header counts: an echo request behind an extension header passes.
 *
 * As shipped, the program passes everything. Write its body; the verifier will want a proof
 * (a comparison with data_end) before each header you read. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/icmpv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* Echo requests dropped, one slot per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} walled SEC(".maps");

SEC("xdp")
int ping_wall(struct xdp_md *ctx)
{
	/* TODO: Ethernet, then IPv6, then the ICMPv6 type */
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
