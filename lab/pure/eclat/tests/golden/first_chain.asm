; chain first () - 7 instructions, ID 0x40000001 until linked
   0: r2 = 7                        ; 12: show_pkt_info(L2 | L3 | L4, 1234)
   1: r3 = 1234
   2: r1 = 0                        ; program info.show_pkt_info
   3: call hike_elem_call_3
   4: r1 = 0                        ; program hike_default.hike_pass | 13: hike_pass()
   5: call hike_elem_call_1
   6: exit                          ; 11: def first():

