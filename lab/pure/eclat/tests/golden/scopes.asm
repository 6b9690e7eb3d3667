; chain c () - 25 instructions, ID 0x40000001 until linked
   0: r1 = 0                        ; program hike_default.lse | 5: u64 : t = lse()
   1: call hike_elem_call_1
   2: r6 = r0
   3: if r6 <= 0x3e8 goto +2        ; 6: if t > 1000:
   4: r7 = 2                        ; 7: u32 : band = 2
   5: goto +4
   6: if r6 <= 0xa goto +2          ; 8: elif t > 10:
   7: r7 = 1                        ; 9: u32 : band = 1
   8: goto +1
   9: r7 = 0                        ; 11: u32 : band = 0
  10: r2 = r7                       ; 12: monitor(band)
  11: r1 = 0                        ; program hike_default.monitor
  12: call hike_elem_call_2
  13: if r6 != 0x0 goto +3          ; 13: if t == 0:
  14: r1 = 0                        ; program hike_default.hike_drop | 14: hike_drop()
  15: call hike_elem_call_1
  16: goto +2
  17: r8 = r6                       ; 16: u64 : late = t - 1
  18: r8 -= 1
  19: r2 = r8                       ; 17: monitor(late)
  20: r1 = 0                        ; program hike_default.monitor
  21: call hike_elem_call_2
  22: r1 = 0                        ; program hike_default.hike_pass | 18: hike_pass()
  23: call hike_elem_call_1
  24: exit                          ; 4: def c():

