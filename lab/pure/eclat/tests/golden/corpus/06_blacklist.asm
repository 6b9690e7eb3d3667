; chain blacklist () - 16 instructions, ID 0x40000001 until linked
   0: r2 = 0                        ; 14: u64 : found = ip6_hset_srcdst(LOOKUP)
   1: r1 = 0                        ; program hike_default.ip6_hset_srcdst
   2: call hike_elem_call_2
   3: r6 = r0
   4: if r6 != 0x0 goto +4          ; 15: if found == 0:
   5: r1 = 0                        ; program hike_default.hike_drop | 16: hike_drop()
   6: call hike_elem_call_1
   7: r0 = 0                        ; 17: return 0
   8: exit
   9: r2 = 1                        ; 18: ip6_hset_srcdst(ADD)
  10: r1 = 0                        ; program hike_default.ip6_hset_srcdst
  11: call hike_elem_call_2
  12: r1 = 0                        ; program hike_default.hike_pass | 19: hike_pass()
  13: call hike_elem_call_1
  14: r0 = 0                        ; 20: return 0
  15: exit

