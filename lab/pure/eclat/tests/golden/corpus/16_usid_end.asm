; chain usid_end () - 12 instructions, ID 0x40000001 until linked
   0: r1 = 0                        ; program routingpaolo.paolo_adv_usid | 12: u64 : next = paolo_adv_usid()
   1: call hike_elem_call_1
   2: r6 = r0
   3: if r6 != 0x0 goto +4          ; 13: if next == 0:
   4: r1 = 0                        ; program hike_default.hike_pass | 14: hike_pass()
   5: call hike_elem_call_1
   6: r0 = 0                        ; 15: return 0
   7: exit
   8: r1 = 0                        ; program hike_default.hike_drop | 16: hike_drop()
   9: call hike_elem_call_1
  10: r0 = 0                        ; 17: return 0
  11: exit

