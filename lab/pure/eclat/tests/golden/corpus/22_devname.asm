; chain c () - 4 instructions, ID 0x40000001 until linked
   0: r1 = 0                        ; program hike_default.hike_pass | 10: hike_pass()
   1: call hike_elem_call_1
   2: r0 = 0                        ; 11: return 0
   3: exit

