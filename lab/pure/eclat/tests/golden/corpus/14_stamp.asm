; chain stamp () - 11 instructions, ID 0x40000001 until linked
   0: r1 = 0                        ; program stamp.collector | 14: u64 : seen = collector()
   1: call hike_elem_call_1
   2: r6 = r0
   3: if r6 != 0x2 goto +3          ; 15: if seen == 2:
   4: r2 = 2                        ; 16: monitor(2)
   5: r1 = 0                        ; program hike_default.monitor
   6: call hike_elem_call_2
   7: r1 = 0                        ; program hike_default.hike_pass | 17: hike_pass()
   8: call hike_elem_call_1
   9: r0 = 0                        ; 18: return 0
  10: exit

