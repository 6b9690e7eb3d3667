/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Chains written in C, as the original's HIKE_CHAIN_n allowed. The program IDs are fixed here
 * (the control plane registers programs under these IDs before storing the chains). */
#include <hike/chain.h>

#define PROG_HIKE_PASS	1
#define PROG_HIKE_DROP	2
#define PROG_MONITOR	3
#define PROG_ECHO	11

#define CHAIN_PASS	1073741825	/* 0x40000001 */
#define CHAIN_ECHO	1073741826	/* 0x40000002 */
#define CHAIN_MAIN	1073741827	/* 0x40000003 */

/* monitor(0); hike_pass() */
HIKE_CHAIN_1(CHAIN_PASS)
{
	hike_elem_call_2(PROG_MONITOR, 0);
	hike_elem_call_1(PROG_HIKE_PASS);
	return 0;
}

/* a chain called with one argument, returning it doubled through a program */
HIKE_CHAIN_2(CHAIN_ECHO, __u64, x)
{
	return hike_elem_call_2(PROG_ECHO, x * 2);
}

/* calls CHAIN_ECHO(21): 42 -> pass, anything else -> drop; packets shorter than 60 bytes drop */
HIKE_CHAIN_1(CHAIN_MAIN)
{
	__u64 r;

	if (hike_pkt_len() < 60)
		hike_elem_call_1(PROG_HIKE_DROP);
	r = hike_elem_call_2(CHAIN_ECHO, 21);
	if (r == 42)
		hike_elem_call_1(PROG_HIKE_PASS);
	hike_elem_call_1(PROG_HIKE_DROP);
	return 0;
}
