; chain count_and_pass () - 7 instructions, ID 0x40000001 until linked
   0: r2 = 0                        ; 14: monitor(PASS)
   1: r1 = 0                        ; program hike_default.monitor
   2: call hike_elem_call_2
   3: r1 = 0                        ; program hike_default.hike_pass | 15: hike_pass()
   4: call hike_elem_call_1
   5: r0 = 0                        ; 16: return 0
   6: exit

