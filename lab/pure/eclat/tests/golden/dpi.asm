; chain dpi () - 17 instructions, ID 0x40000001 until linked
   0: r1 = 0                        ; program hike_default.ip6_find_udp | 13: if ip6_find_udp() == UDP and Packet.readU32(62) == KEYWORD:
   1: call hike_elem_call_1
   2: if r0 != 0x11 goto +11
   3: r1 = 0x1000046
   4: r0 = *(u32 *)(r1 + 0)
   5: r0 = be32 r0
   6: if r0 != 0x48494b45 goto +7
   7: r2 = 20                       ; 14: monitor(MATCHED)
   8: r1 = 0                        ; program hike_default.monitor
   9: call hike_elem_call_2
  10: r1 = 0                        ; program hike_default.hike_drop | 15: hike_drop()
  11: call hike_elem_call_1
  12: r0 = 0                        ; 16: return 0
  13: exit
  14: r1 = 0                        ; program hike_default.hike_pass | 17: hike_pass()
  15: call hike_elem_call_1
  16: exit                          ; 12: def dpi():

