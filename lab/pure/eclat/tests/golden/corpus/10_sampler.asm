; chain sampled () - 12 instructions, ID 0x40000001 until linked
   0: r2 = 3                        ; 17: u64 : left = ip6_sd_dec2zero(3)
   1: r1 = 0                        ; program sampler.ip6_sd_dec2zero
   2: call hike_elem_call_2
   3: r6 = r0
   4: if r6 != 0x0 goto +3          ; 18: if left == 0:
   5: r2 = 5                        ; 19: monitor(SAMPLE)
   6: r1 = 0                        ; program hike_default.monitor
   7: call hike_elem_call_2
   8: r1 = 0                        ; program hike_default.hike_pass | 20: hike_pass()
   9: call hike_elem_call_1
  10: r0 = 0                        ; 21: return 0
  11: exit

