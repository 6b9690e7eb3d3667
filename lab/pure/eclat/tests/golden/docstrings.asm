; chain police () - 15 instructions, ID 0x40000001 until linked
   0: r1 = 0                        ; program meter.ip6_dst_tbmon | 9: u64 : verdict = ip6_dst_tbmon()
   1: call hike_elem_call_1
   2: r6 = r0
   3: if r6 == 0x0 goto +5          ; 10: if verdict != 0:
   4: r2 = 1                        ; 12: monitor(DROP)
   5: r1 = 0                        ; program hike_default.monitor
   6: call hike_elem_call_2
   7: r1 = 0                        ; program hike_default.hike_drop | 13: hike_drop()
   8: call hike_elem_call_1
   9: r2 = 0                        ; 14: monitor(PASS)
  10: r1 = 0                        ; program hike_default.monitor
  11: call hike_elem_call_2
  12: r1 = 0                        ; program hike_default.hike_pass | 15: hike_pass()
  13: call hike_elem_call_1
  14: exit                          ; 6: def police():

