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

char _license[] SEC("license") = "Dual MIT/GPL";
