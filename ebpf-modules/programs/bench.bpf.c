/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* programs.bench: null programs for measuring the cost of a program call. */
#include <hike/api.h>

/* hike_null: does nothing, r0 = 0, continues. */
HIKE_PROG(hike_null)
{
	HVM_RET = 0;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG(hike_null);

/* hike_echo(x): r0 = x, continues (argument passing checks). */
HIKE_PROG(hike_echo)
{
	HVM_RET = HVM_ARG2;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG_2(hike_echo, __u64, x);

/* hike_add3(a, b, c): r0 = a + b + c, continues. */
HIKE_PROG(hike_add3)
{
	HVM_RET = HVM_ARG2 + HVM_ARG3 + HVM_ARG4;
	return HIKE_XDP_VM;
}
EXPORT_HIKE_PROG_4(hike_add3, __u64, a, __u64, b, __u64, c);

/* hike_regs_out: writes the calling chain's r0 and r2..r9 (8 bytes each, host order) into the
 * packet at byte 16 + 8 * n for rn, then passes it (final). The differential tests end chains
 * with it to compare every register of a chain that does not touch memory itself. */
HIKE_PROG(hike_regs_out)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	__u64 *p = data + 16;

	if ((void *)(p + 10) > end)
		return XDP_ABORTED;
	p[0] = __hike_frame->regs[0];
	p[2] = __hike_frame->regs[2];
	p[3] = __hike_frame->regs[3];
	p[4] = __hike_frame->regs[4];
	p[5] = __hike_frame->regs[5];
	p[6] = __hike_frame->regs[6];
	p[7] = __hike_frame->regs[7];
	p[8] = __hike_frame->regs[8];
	p[9] = __hike_frame->regs[9];
	return XDP_PASS;
}
EXPORT_HIKE_PROG(hike_regs_out);
EXPORT_HIKE_FINAL(hike_regs_out);

char _license[] SEC("license") = "Dual MIT/GPL";
