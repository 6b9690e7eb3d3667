; chain ports () - 31 instructions, ID 0x40000001 until linked
   0: r2 = 53                       ; 15: if udp_port(53) == 1:
   1: r1 = 0                        ; program mynet.udp_port
   2: call hike_elem_call_2
   3: if r0 != 0x1 goto +6
   4: r2 = 53                       ; 16: monitor(53)
   5: r1 = 0                        ; program hike_default.monitor
   6: call hike_elem_call_2
   7: r1 = 0                        ; program hike_default.hike_drop | 17: hike_drop()
   8: call hike_elem_call_1
   9: goto +19
  10: r2 = 123                      ; 18: elif udp_port(123) == 1:
  11: r1 = 0                        ; program mynet.udp_port
  12: call hike_elem_call_2
  13: if r0 != 0x1 goto +6
  14: r2 = 123                      ; 19: monitor(123)
  15: r1 = 0                        ; program hike_default.monitor
  16: call hike_elem_call_2
  17: r1 = 0                        ; program hike_default.hike_pass | 20: hike_pass()
  18: call hike_elem_call_1
  19: goto +9
  20: r2 = 9                        ; 21: elif udp_port(9) == 1:
  21: r1 = 0                        ; program mynet.udp_port
  22: call hike_elem_call_2
  23: if r0 != 0x1 goto +3
  24: r1 = 0                        ; program hike_default.hike_drop | 22: hike_drop()
  25: call hike_elem_call_1
  26: goto +2
  27: r1 = 0                        ; program hike_default.hike_pass | 24: hike_pass()
  28: call hike_elem_call_1
  29: r0 = 0                        ; 25: return 0
  30: exit

