/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Cubes: the lab's take on Polycube's model (lesson 5). A cube is one XDP program with its
 * own maps (every `cube add` loads the object again, so two cubes of one object share
 * nothing) and up to CUBE_MAX_PORTS output ports. A port is a slot of the cube's program
 * array `cube_ports`; `eclat-lab cube connect A:PORT B` puts cube B's program there, in one
 * map update. Sending a packet out of a port is a tail call: it never comes back.
 *
 * Every cube counts what it does in `cube_stats` (per-CPU, summed by the lab):
 *   CUBE_RX   packets that entered the cube
 *   CUBE_PASS packets handed to the kernel's stack (XDP_PASS)
 *   CUBE_DROP packets the cube dropped on purpose
 *   CUBE_MISS packets sent to a port with nothing connected (dropped: cubes fail closed)
 *   CUBE_TX+p packets sent out of port p
 * `cube show` and the TUI's map panels read these; the lab finds a cube by its
 * `cube_ports` and `cube_stats` maps. */
#ifndef CUBE_CUBE_H
#define CUBE_CUBE_H

#include <hike/hike.h>
#include <hike/parse.h>

#define CUBE_MAX_PORTS 4

enum cube_stat {
	CUBE_RX = 0,
	CUBE_PASS = 1,
	CUBE_DROP = 2,
	CUBE_MISS = 3,
	CUBE_TX = 4, /* + port */
	CUBE_NSTATS = CUBE_TX + CUBE_MAX_PORTS,
};

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, CUBE_MAX_PORTS);
} cube_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, CUBE_NSTATS);
} cube_stats SEC(".maps");

static __always_inline void cube_count(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&cube_stats, &what);

	if (n)
		*n += 1;
}

static __always_inline void cube_uncount(__u32 what)
{
	__u64 *n = bpf_map_lookup_elem(&cube_stats, &what);

	if (n && *n)
		*n -= 1;
}

/* The first line of a cube's program: the packet entered the cube. */
#define cube_rx() cube_count(CUBE_RX)

/* Hands the packet to the kernel's network stack. */
static __always_inline int cube_pass(void)
{
	cube_count(CUBE_PASS);
	return XDP_PASS;
}

/* Drops the packet on purpose. */
static __always_inline int cube_drop(void)
{
	cube_count(CUBE_DROP);
	return XDP_DROP;
}

/* Sends the packet out of `port` (a constant): a tail call into the cube connected there.
 * Only returns when nothing is connected, and then the packet is counted as a miss and
 * dropped. */
#define cube_forward(ctx, port) ({						\
	_Static_assert((port) >= 0 && (port) < CUBE_MAX_PORTS, "no such port");	\
	cube_count(CUBE_TX + (port));						\
	bpf_tail_call_static(ctx, &cube_ports, port);				\
	cube_count(CUBE_MISS);							\
	XDP_DROP; })

/* Sends the packet out of `port` when a cube is connected there, else hands it to the
 * kernel's stack: for a cube that may end a chain. (A program cannot read a program array,
 * so it tries the tail call and takes the count back when it returns.) */
#define cube_forward_or_pass(ctx, port) ({					\
	_Static_assert((port) >= 0 && (port) < CUBE_MAX_PORTS, "no such port");	\
	cube_count(CUBE_TX + (port));						\
	bpf_tail_call_static(ctx, &cube_ports, port);				\
	cube_uncount(CUBE_TX + (port));						\
	cube_pass(); })

/* The UDP destination port of an IPv6 or IPv4 packet (host order), 0 for anything else:
 * the "class" of a packet in lesson 5's chains. */
static __always_inline __u16 cube_udp_dport(struct xdp_md *ctx)
{
	struct hike_pkt_info pi;
	__u8 l4 = 0;
	struct udphdr *udp;

	if (!hike_parse_l2l3(ctx, &pi, &l4) || l4 != IPPROTO_UDP ||
	    pi.thoff == HIKE_PKT_INFO_UNSET)
		return 0;
	udp = hike_pkt_ptr(ctx, pi.thoff, sizeof(*udp));
	return udp ? bpf_ntohs(udp->dest) : 0;
}

#endif
