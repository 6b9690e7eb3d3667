; chain loop () - 13 instructions, ID 0x40000001 until linked
   0: r6 = 0                        ; 11: u64 : i = 0
   1: if r6 >= 0x4 goto +7          ; 12: while i < 4:
   2: r2 = 4                        ; 13: monitor(4)
   3: r1 = 0                        ; program hike_default.monitor
   4: call hike_elem_call_2
   5: r0 = r6                       ; 14: i = i + 1
   6: r0 += 1
   7: r6 = r0
   8: goto -8                       ; 12: while i < 4:
   9: r1 = 0                        ; program hike_default.hike_pass | 15: hike_pass()
  10: call hike_elem_call_1
  11: r0 = 0                        ; 16: return 0
  12: exit

