; chain to_collector () - 5 instructions, ID 0x40000001 until linked
   0: r2 = 1                        ; 12: l2_redirect(OUT_IFINDEX)
   1: r1 = 0                        ; program hike_default.l2_redirect
   2: call hike_elem_call_2
   3: r0 = 0                        ; 13: return 0
   4: exit

