; chain types () - 13 instructions, ID 0x40000001 until linked
   0: r6 = 52                       ; 12: u8 : small = 0x1234
   1: r7 = -1                       ; 13: s8 : negative = 0xff
   2: r8 = r6                       ; 14: u32 : event = small
   3: r2 = r8                       ; 15: monitor(event)
   4: r1 = 0                        ; program hike_default.monitor
   5: call hike_elem_call_2
   6: r2 = r7                       ; 16: monitor(negative)
   7: r1 = 0                        ; program hike_default.monitor
   8: call hike_elem_call_2
   9: r1 = 0                        ; program hike_default.hike_pass | 17: hike_pass()
  10: call hike_elem_call_1
  11: r0 = 0                        ; 18: return 0
  12: exit

