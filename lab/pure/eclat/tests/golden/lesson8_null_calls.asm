; chain four_calls () - 10 instructions, ID 0x40000001 until linked
   0: r6 = 0                        ; 8: for i in range(4):
   1: if r6 >= 0x4 goto +5
   2: r2 = r6                       ; 9: monitor(i)
   3: r1 = 0                        ; program hike_default.monitor
   4: call hike_elem_call_2
   5: r6 += 1                       ; 8: for i in range(4):
   6: goto -6
   7: r1 = 0                        ; program hike_default.hike_pass | 10: hike_pass()
   8: call hike_elem_call_1
   9: exit                          ; 7: def four_calls():

