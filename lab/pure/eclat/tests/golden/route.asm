; chain route () - 6 instructions, ID 0x40000001 until linked
   0: r2 = 3                        ; 11: monitor(FORWARDED)
   1: r1 = 0                        ; program hike_default.monitor
   2: call hike_elem_call_2
   3: r1 = 0                        ; program hike_default.ip6_kroute | 12: ip6_kroute()
   4: call hike_elem_call_1
   5: exit                          ; 10: def route():

