; chain mitigation () - 57 instructions, ID 0x40000001 until linked
   0: r2 = 2                        ; 29: u64 : res = ip6_hset_srcdst(LOOKUP_AND_CLEAN)
   1: r1 = 0                        ; program hike_default.ip6_hset_srcdst
   2: call hike_elem_call_2
   3: r6 = r0
   4: if r6 != 0x0 goto +20         ; 30: if res == 0:
   5: r2 = 500                      ; 31: u64 : n = ip6_sd_dec2zero(500)
   6: r1 = 0                        ; program sampler.ip6_sd_dec2zero
   7: call hike_elem_call_2
   8: r7 = r0
   9: if r7 != 0x0 goto +8          ; 32: if n == 0:
  10: r2 = 2                        ; 33: monitor(REDIRECT)
  11: r1 = 0                        ; program hike_default.monitor
  12: call hike_elem_call_2
  13: r2 = 3                        ; 34: l2_redirect(COLLECTOR)
  14: r1 = 0                        ; program hike_default.l2_redirect
  15: call hike_elem_call_2
  16: r0 = 0                        ; 35: return 0
  17: exit
  18: r2 = 1                        ; 36: monitor(DROP)
  19: r1 = 0                        ; program hike_default.monitor
  20: call hike_elem_call_2
  21: r1 = 0                        ; program hike_default.hike_drop | 37: hike_drop()
  22: call hike_elem_call_1
  23: r0 = 0                        ; 38: return 0
  24: exit
  25: r1 = 0                        ; program meter.ip6_dst_tbmon | 39: u64 : dst_out = ip6_dst_tbmon()
  26: call hike_elem_call_1
  27: r8 = r0
  28: if r8 != 0x0 goto +7          ; 40: if dst_out == 0:
  29: r2 = 0                        ; 41: monitor(PASS)
  30: r1 = 0                        ; program hike_default.monitor
  31: call hike_elem_call_2
  32: r1 = 0                        ; program hike_default.hike_pass | 42: hike_pass()
  33: call hike_elem_call_1
  34: r0 = 0                        ; 43: return 0
  35: exit
  36: r1 = 0                        ; program meter.ip6_sd_tbmon | 44: u64 : sd_out = ip6_sd_tbmon()
  37: call hike_elem_call_1
  38: r9 = r0
  39: if r9 != 0x0 goto +7          ; 45: if sd_out == 0:
  40: r2 = 0                        ; 46: monitor(PASS)
  41: r1 = 0                        ; program hike_default.monitor
  42: call hike_elem_call_2
  43: r1 = 0                        ; program hike_default.hike_pass | 47: hike_pass()
  44: call hike_elem_call_1
  45: r0 = 0                        ; 48: return 0
  46: exit
  47: r2 = 1                        ; 49: ip6_hset_srcdst(ADD)
  48: r1 = 0                        ; program hike_default.ip6_hset_srcdst
  49: call hike_elem_call_2
  50: r2 = 1                        ; 50: monitor(DROP)
  51: r1 = 0                        ; program hike_default.monitor
  52: call hike_elem_call_2
  53: r1 = 0                        ; program hike_default.hike_drop | 51: hike_drop()
  54: call hike_elem_call_1
  55: r0 = 0                        ; 52: return 0
  56: exit

