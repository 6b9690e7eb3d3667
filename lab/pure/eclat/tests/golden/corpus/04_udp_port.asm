; chain no_dns () - 19 instructions, ID 0x40000001 until linked
   0: r2 = 53                       ; 15: u64 : dns = udp_port(53)
   1: r1 = 0                        ; program mynet.udp_port
   2: call hike_elem_call_2
   3: r6 = r0
   4: if r6 != 0x1 goto +7          ; 16: if dns == 1:
   5: r2 = 1                        ; 17: monitor(DROP)
   6: r1 = 0                        ; program hike_default.monitor
   7: call hike_elem_call_2
   8: r1 = 0                        ; program hike_default.hike_drop | 18: hike_drop()
   9: call hike_elem_call_1
  10: r0 = 0                        ; 19: return 0
  11: exit
  12: r2 = 0                        ; 20: monitor(PASS)
  13: r1 = 0                        ; program hike_default.monitor
  14: call hike_elem_call_2
  15: r1 = 0                        ; program hike_default.hike_pass | 21: hike_pass()
  16: call hike_elem_call_1
  17: r0 = 0                        ; 22: return 0
  18: exit

