; chain usid () - 8 instructions, ID 0x40000001 until linked
   0: r1 = 0                        ; program routingpaolo.paolo_adv_usid | 12: paolo_adv_usid()
   1: call hike_elem_call_1
   2: r1 = 0                        ; program routingpaolo.paolo_chaddr | 13: paolo_chaddr()
   3: call hike_elem_call_1
   4: r1 = 0                        ; program routingpaolo.paolo_kroute | 14: paolo_kroute()
   5: call hike_elem_call_1
   6: r0 = 0                        ; 15: return 0
   7: exit

