; chain echo_filter () - 15 instructions, ID 0x40000001 until linked
   0: r2 = 7                        ; 13: if udp_port(7) == 1:
   1: r1 = 0                        ; program mynet.udp_port
   2: call hike_elem_call_2
   3: if r0 != 0x1 goto +7
   4: r2 = 7                        ; 14: monitor(7)
   5: r1 = 0                        ; program hike_default.monitor
   6: call hike_elem_call_2
   7: r1 = 0                        ; program hike_default.hike_drop | 15: hike_drop()
   8: call hike_elem_call_1
   9: r0 = 0                        ; 16: return 0
  10: exit
  11: r1 = 0                        ; program hike_default.hike_pass | 17: hike_pass()
  12: call hike_elem_call_1
  13: r0 = 0                        ; 18: return 0
  14: exit

