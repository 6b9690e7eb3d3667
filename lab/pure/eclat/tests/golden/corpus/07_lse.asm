; chain first_seen () - 15 instructions, ID 0x40000001 until linked
   0: r1 = 0                        ; program hike_default.lse | 15: u64 : since = lse()
   1: call hike_elem_call_1
   2: r6 = r0
   3: if r6 != 0xffffffff goto +4   ; 16: if since == 0xffffffffffffffff:
   4: r2 = 7                        ; 17: monitor(FIRST)
   5: r1 = 0                        ; program hike_default.monitor
   6: call hike_elem_call_2
   7: goto +3
   8: r2 = 8                        ; 19: monitor(AGAIN)
   9: r1 = 0                        ; program hike_default.monitor
  10: call hike_elem_call_2
  11: r1 = 0                        ; program hike_default.hike_pass | 20: hike_pass()
  12: call hike_elem_call_1
  13: r0 = 0                        ; 21: return 0
  14: exit

