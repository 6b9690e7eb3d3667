/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* The lesson 8 DDoS chain's own programs, rearranged so that the bench can split the chain's
 * extra cost over the hand-written program (raw/ddos.bpf.c). The program bodies are taken
 * from their sources unchanged (HIKE_BODIES_ONLY: bodies and maps, no entry points, no
 * metadata), and both programs below start the chain's frame as a compiled chain does
 * (hike_frame_regs; r1 = the ID of each program called, r2 = its argument).
 *
 * ddos_inline: every program inlined into one XDP program, making the decisions of the
 *   bench's ddos_chain in the same order: no VM, no tail calls. Against raw/ddos.o it shows
 *   what HIKe's programming model costs (the frame, each program finding pkt_info and the
 *   IPv6 header again); behind the classifier (plugged into entry slot DDOS_INLINE_SLOT of
 *   hvm_jit_map), what the loader adds.
 * dmh_*: the flood's path (blacklist lookup, sampling countdown, monitor) as three separate
 *   programs chained by constant-key tail calls through hvm_jit_map, each finding the frame
 *   in hvm_cdata_map as a HIKe program does, with the hand-over written by hand for this
 *   path: what a compiled chain's instances would cost with an epilogue generated for
 *   their one call site instead of one pruned from the general epilogue of api.h. A flow
 *   that is not blacklisted goes on to ddos_inline, which decides its packet; a sampled
 *   packet gets the chain's next calls inlined. Every packet is decided as by the chain. */
#define HIKE_BODIES_ONLY
#include "../programs/hike_default.bpf.c"
#include "../programs/meter.bpf.c"
#include "../programs/sampler.bpf.c"

/* the program IDs the bench registers (eclat_kernel::hike::bench::ids) */
#define ID_MONITOR		3
#define ID_IP6_HSET_SRCDST	4
#define ID_IP6_SD_DEC2ZERO	5
#define ID_IP6_DST_TBMON	6
#define ID_IP6_SD_TBMON		7
#define ID_L2_REDIRECT		8
/* the hvm_jit_map slots the bench plugs these programs into (eclat_kernel::hike::bench):
 * the classifier pointed at chain HIKE_CHAIN_FLAG | slot runs the program in that slot */
#define DDOS_INLINE_SLOT	120
#define DMH_HSET_SLOT		121
#define DMH_DEC_SLOT		122
#define DMH_MON_SLOT		123
#define DDOS_INLINE_CHAIN	(HIKE_CHAIN_FLAG | DDOS_INLINE_SLOT)
#define DMH_CHAIN		(HIKE_CHAIN_FLAG | DMH_HSET_SLOT)

/* One program call as a compiled chain makes it: the moves, the body, then the verdict if
 * the program gave one, else its r0. */
#define CALL(name, id, arg) ({							\
	int __rc;								\
	f->regs[1] = (id);							\
	f->regs[2] = (arg);							\
	__rc = __hike_body_##name(ctx, f);					\
	if ((__u32)__rc <= XDP_REDIRECT)					\
		return __rc;							\
	f->regs[0]; })

/* Frame 1 set up for chain `id`, as a compiled chain's first instance does; NULL if the
 * per-CPU chain data is missing. */
static __always_inline struct hike_chain *start_frame(__u32 id)
{
	__u32 zero = 0;
	struct hike_cdata *cd = bpf_map_lookup_elem(&hvm_cdata_map, &zero);
	struct hike_chain *f;

	if (!cd)
		return 0;
	f = &cd->frames[1];
	cd->boot_id = id;
	cd->active = 1;
	cd->flags = 0;
	cd->calls = 1;
	f->upc = HIKE_JIT_UPC;
	hike_frame_regs(f, 0, id, 0, 0, 0);
	return f;
}

/* Frame 1 of a running chain, as a compiled chain's later instances find it. */
static __always_inline struct hike_chain *running_frame(void)
{
	__u32 zero = 0;
	struct hike_cdata *cd = bpf_map_lookup_elem(&hvm_cdata_map, &zero);

	return cd ? &cd->frames[1] : 0;
}

SEC("xdp")
int ddos_inline(struct xdp_md *ctx)
{
	struct hike_chain *f = start_frame(DDOS_INLINE_CHAIN);

	if (!f)
		return XDP_ABORTED;

	if (CALL(ip6_hset_srcdst, ID_IP6_HSET_SRCDST, HIKE_HSET_LOOKUP_AND_CLEAN) == 0) {
		/* blacklisted: sample 1 in 500 to the collector (none here: drop), drop the rest */
		if (CALL(ip6_sd_dec2zero, ID_IP6_SD_DEC2ZERO, 500) == 0) {
			CALL(monitor, ID_MONITOR, HIKE_EV_REDIRECT);
			CALL(l2_redirect, ID_L2_REDIRECT, 0);
			return XDP_ABORTED;	/* l2_redirect always ends the journey */
		}
		CALL(monitor, ID_MONITOR, HIKE_EV_DROP);
		return XDP_DROP;
	}
	if (CALL(ip6_dst_tbmon, ID_IP6_DST_TBMON, 0) != 0 &&
	    CALL(ip6_sd_tbmon, ID_IP6_SD_TBMON, 0) != 0) {
		CALL(ip6_hset_srcdst, ID_IP6_HSET_SRCDST, HIKE_HSET_ADD);
		CALL(monitor, ID_MONITOR, HIKE_EV_DROP);
		return XDP_DROP;
	}
	CALL(monitor, ID_MONITOR, HIKE_EV_PASS);
	return XDP_PASS;
}

SEC("xdp")
int dmh_hset(struct xdp_md *ctx)
{
	struct hike_chain *f = start_frame(DMH_CHAIN);

	if (!f)
		return XDP_ABORTED;
	if (CALL(ip6_hset_srcdst, ID_IP6_HSET_SRCDST, HIKE_HSET_LOOKUP_AND_CLEAN) != 0) {
		bpf_tail_call_static(ctx, &hvm_jit_map, DDOS_INLINE_SLOT);
		return XDP_ABORTED;
	}
	f->regs[1] = ID_IP6_SD_DEC2ZERO;
	f->regs[2] = 500;
	bpf_tail_call_static(ctx, &hvm_jit_map, DMH_DEC_SLOT);
	return XDP_ABORTED;
}

SEC("xdp")
int dmh_dec(struct xdp_md *ctx)
{
	struct hike_chain *f = running_frame();
	int rc;

	if (!f)
		return XDP_ABORTED;
	rc = __hike_body_ip6_sd_dec2zero(ctx, f);
	if ((__u32)rc <= XDP_REDIRECT)
		return rc;
	if (f->regs[0] == 0) {
		/* the sampled packet, off the flood's path: the chain's next calls, inlined */
		CALL(monitor, ID_MONITOR, HIKE_EV_REDIRECT);
		CALL(l2_redirect, ID_L2_REDIRECT, 0);
		return XDP_ABORTED;
	}
	f->regs[1] = ID_MONITOR;
	f->regs[2] = HIKE_EV_DROP;
	bpf_tail_call_static(ctx, &hvm_jit_map, DMH_MON_SLOT);
	return XDP_ABORTED;
}

SEC("xdp")
int dmh_mon(struct xdp_md *ctx)
{
	struct hike_chain *f = running_frame();
	int rc;

	if (!f)
		return XDP_ABORTED;
	rc = __hike_body_monitor(ctx, f);
	if ((__u32)rc <= XDP_REDIRECT)
		return rc;
	return XDP_DROP;
}

char _license[] SEC("license") = "Dual MIT/GPL";
