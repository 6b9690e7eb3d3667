/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* Writing HIKe chains in C. Build with -mcpu=v2 (no ALU32/JMP32): the chain subset refuses
 * them. A chain may not touch maps, call helpers or other C functions, or use globals: only
 * arithmetic, jumps, its stack, the MMU addresses below and the element calls.
 *
 *   #define MY_PROG 7
 *   HIKE_CHAIN_2(1073741825, __u64, limit) {     // ID in decimal: it names the ELF section
 *           __u64 r = hike_elem_call_2(MY_PROG, limit);
 *           return r;
 *   }
 *
 * HIKE_CHAIN_1/2/3 take 0/1/2 user arguments; the code lands in section
 * __sec_hike_chain_<ID>, which the control plane reads (it is not an eBPF program).
 */
#ifndef HIKE_CHAIN_H
#define HIKE_CHAIN_H

#include "hike.h"

#define __HIKE_STR(x) #x
#define __HIKE_XSTR(x) __HIKE_STR(x)
#define __HIKE_CHAIN_SEC(ID) __attribute__((section("__sec_hike_chain_" __HIKE_XSTR(ID)), used))

#define HIKE_CHAIN_1(ID)							\
	__HIKE_CHAIN_SEC(ID) __u64 __hike_chain_##ID(__u64 __hike_chain_id)
#define HIKE_CHAIN_2(ID, t1, a1)						\
	__HIKE_CHAIN_SEC(ID) __u64 __hike_chain_##ID(__u64 __hike_chain_id, t1 a1)
#define HIKE_CHAIN_3(ID, t1, a1, t2, a2)					\
	__HIKE_CHAIN_SEC(ID) __u64 __hike_chain_##ID(__u64 __hike_chain_id, t1 a1, t2 a2)

/* Element calls: `call imm` with imm = 0x11..0x14 << 8, r1 = element ID, r2.. = args. */
static __u64 (*const hike_elem_call_1)(__u64 id) = (void *)HIKE_CALL_ELEM_0;
static __u64 (*const hike_elem_call_2)(__u64 id, __u64 a1) = (void *)HIKE_CALL_ELEM_1;
static __u64 (*const hike_elem_call_3)(__u64 id, __u64 a1, __u64 a2) = (void *)HIKE_CALL_ELEM_2;
static __u64 (*const hike_elem_call_4)(__u64 id, __u64 a1, __u64 a2, __u64 a3) =
	(void *)HIKE_CALL_ELEM_3;

/* MMU access from C chains. */
#define hike_pkt_len()		(*(volatile __u64 *)(unsigned long)HIKE_MMU_PACKET_LEN)
#define hike_pkt_u8(off)	(*(volatile __u8 *)(unsigned long)(HIKE_MMU_PACKET_DATA + (off)))
#define hike_pkt_u16(off)	(*(volatile __u16 *)(unsigned long)(HIKE_MMU_PACKET_DATA + (off)))
#define hike_pkt_u32(off)	(*(volatile __u32 *)(unsigned long)(HIKE_MMU_PACKET_DATA + (off)))
#define hike_shmem_u32(off)	(*(volatile __u32 *)(unsigned long)(HIKE_MMU_PCPU_SHMEM + (off)))

#endif
