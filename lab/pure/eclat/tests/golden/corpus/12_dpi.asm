; chain inspect () - 14 instructions, ID 0x40000001 until linked
   0: r2 = 0                        ; 15: u64 : found = dpi(0, 64)
   1: r3 = 64
   2: r1 = 0                        ; program tutorial.dpi
   3: call hike_elem_call_3
   4: r6 = r0
   5: if r6 == 0x0 goto +4          ; 16: if found != 0:
   6: r1 = 0                        ; program hike_default.hike_drop | 17: hike_drop()
   7: call hike_elem_call_1
   8: r0 = 0                        ; 18: return 0
   9: exit
  10: r1 = 0                        ; program hike_default.hike_pass | 19: hike_pass()
  11: call hike_elem_call_1
  12: r0 = 0                        ; 20: return 0
  13: exit

