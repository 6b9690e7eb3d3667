; chain metered () - 18 instructions, ID 0x40000001 until linked
   0: r1 = 0                        ; program meter.ip6_sd_meter | 15: u64 : flow = ip6_sd_meter()
   1: call hike_elem_call_1
   2: r6 = r0
   3: r1 = 0                        ; program meter.ip6_dst_meter | 16: u64 : total = ip6_dst_meter()
   4: call hike_elem_call_1
   5: r7 = r0
   6: if r7 <= 0x2 goto +7          ; 17: if total > LIMIT:
   7: r2 = 1                        ; 18: monitor(1)
   8: r1 = 0                        ; program hike_default.monitor
   9: call hike_elem_call_2
  10: r1 = 0                        ; program hike_default.hike_drop | 19: hike_drop()
  11: call hike_elem_call_1
  12: r0 = 0                        ; 20: return 0
  13: exit
  14: r1 = 0                        ; program hike_default.hike_pass | 21: hike_pass()
  15: call hike_elem_call_1
  16: r0 = 0                        ; 22: return 0
  17: exit

