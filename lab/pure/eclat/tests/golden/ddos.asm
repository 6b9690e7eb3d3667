; chain mitigate () - 47 instructions, ID 0x40000001 until linked
   0: r2 = 0                        ; 23: u64 : listed = ip6_hset_srcdst(LOOKUP)
   1: r1 = 0                        ; program hike_default.ip6_hset_srcdst
   2: call hike_elem_call_2
   3: r6 = r0
   4: if r6 != 0x0 goto +19         ; 24: if listed == 0:
   5: r2 = 500                      ; 25: if ip6_sd_dec2zero(SAMPLE_EVERY) == 0:
   6: r1 = 0                        ; program sampler.ip6_sd_dec2zero
   7: call hike_elem_call_2
   8: if r0 != 0x0 goto +8
   9: r2 = 2                        ; 26: monitor(REDIRECT)
  10: r1 = 0                        ; program hike_default.monitor
  11: call hike_elem_call_2
  12: r2 = 4                        ; 27: l2_redirect(COLLECTOR_IFINDEX)
  13: r1 = 0                        ; program hike_default.l2_redirect
  14: call hike_elem_call_2
  15: r0 = 0                        ; 28: return 0
  16: exit
  17: r2 = 1                        ; 29: monitor(DROP)
  18: r1 = 0                        ; program hike_default.monitor
  19: call hike_elem_call_2
  20: r1 = 0                        ; program hike_default.hike_drop | 30: hike_drop()
  21: call hike_elem_call_1
  22: r0 = 0                        ; 31: return 0
  23: exit
  24: r1 = 0                        ; program meter.ip6_dst_tbmon | 32: if ip6_dst_tbmon() != 0:
  25: call hike_elem_call_1
  26: if r0 == 0x0 goto +13
  27: r1 = 0                        ; program meter.ip6_sd_tbmon | 33: if ip6_sd_tbmon() != 0:
  28: call hike_elem_call_1
  29: if r0 == 0x0 goto +10
  30: r2 = 1                        ; 34: ip6_hset_srcdst(ADD)
  31: r1 = 0                        ; program hike_default.ip6_hset_srcdst
  32: call hike_elem_call_2
  33: r2 = 1                        ; 35: monitor(DROP)
  34: r1 = 0                        ; program hike_default.monitor
  35: call hike_elem_call_2
  36: r1 = 0                        ; program hike_default.hike_drop | 36: hike_drop()
  37: call hike_elem_call_1
  38: r0 = 0                        ; 37: return 0
  39: exit
  40: r2 = 0                        ; 38: monitor(PASS)
  41: r1 = 0                        ; program hike_default.monitor
  42: call hike_elem_call_2
  43: r1 = 0                        ; program hike_default.hike_pass | 39: hike_pass()
  44: call hike_elem_call_1
  45: r0 = 0                        ; 40: return 0
  46: exit

