; chain eip () - 6 instructions, ID 0x40000001 until linked
   0: r1 = 0                        ; program eip.hello | 14: hello()
   1: call hike_elem_call_1
   2: r1 = 0                        ; program hike_default.hike_pass | 15: hike_pass()
   3: call hike_elem_call_1
   4: r0 = 0                        ; 16: return 0
   5: exit

