; chain marking () - 11 instructions, ID 0x40000001 until linked
   0: r1 = 0                        ; program alt_mark.ip6_alt_mark | 17: u64 : color = ip6_alt_mark()
   1: call hike_elem_call_1
   2: r6 = r0
   3: r2 = 10                       ; 18: monitor(10 + color)
   4: r2 += r6
   5: r1 = 0                        ; program hike_default.monitor
   6: call hike_elem_call_2
   7: r1 = 0                        ; program hike_default.hike_pass | 19: hike_pass()
   8: call hike_elem_call_1
   9: r0 = 0                        ; 20: return 0
  10: exit

