; chain count_and_pass () - 6 instructions, ID 0x40000001 until linked
   0: r2 = 0                        ; 11: monitor(PASS)
   1: r1 = 0                        ; program hike_default.monitor
   2: call hike_elem_call_2
   3: r1 = 0                        ; program hike_default.hike_pass | 12: hike_pass()
   4: call hike_elem_call_1
   5: exit                          ; 10: def count_and_pass():

