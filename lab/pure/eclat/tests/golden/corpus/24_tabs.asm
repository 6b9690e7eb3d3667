; chain tabs () - 13 instructions, ID 0x40000001 until linked
   0: r2 = 1                        ; 13: u64 : one = udp_port(1)
   1: r1 = 0                        ; program mynet.udp_port
   2: call hike_elem_call_2
   3: r6 = r0
   4: if r6 != 0x1 goto +4          ; 15: if one == 1:
   5: r1 = 0                        ; program hike_default.hike_drop | 16: hike_drop()
   6: call hike_elem_call_1
   7: r0 = 0                        ; 17: return 0
   8: exit
   9: r1 = 0                        ; program hike_default.hike_pass | 18: hike_pass()
  10: call hike_elem_call_1
  11: r0 = 0                        ; 19: return 0
  12: exit

