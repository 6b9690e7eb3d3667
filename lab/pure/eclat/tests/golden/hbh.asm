; chain hbh () - 27 instructions, ID 0x40000001 until linked
   0: r1 = 0x100001c                ; 15: if Packet.readU8(20) != NH_HOPOPTS:
   1: r0 = *(u8 *)(r1 + 0)
   2: if r0 == 0x0 goto +4
   3: r1 = 0                        ; program hike_default.hike_pass | 16: hike_pass()
   4: call hike_elem_call_1
   5: r0 = 0                        ; 17: return 0
   6: exit
   7: r2 = 10                       ; 18: monitor(SEEN)
   8: r1 = 0                        ; program hike_default.monitor
   9: call hike_elem_call_2
  10: r0 = 0x1000040                ; 19: u8 : opt = Packet.readU8(56)
  11: r6 = *(u8 *)(r0 + 0)
  12: if r6 != 0x5 goto +11         ; 20: if opt == OPT_ALERT and Packet.readU16(58) == 0:
  13: r1 = 0x1000042
  14: r0 = *(u16 *)(r1 + 0)
  15: r0 = be16 r0
  16: if r0 != 0x0 goto +7
  17: r2 = 11                       ; 21: monitor(ALERT)
  18: r1 = 0                        ; program hike_default.monitor
  19: call hike_elem_call_2
  20: r1 = 0                        ; program hike_default.hike_drop | 22: hike_drop()
  21: call hike_elem_call_1
  22: r0 = 0                        ; 23: return 0
  23: exit
  24: r1 = 0                        ; program hike_default.hike_pass | 24: hike_pass()
  25: call hike_elem_call_1
  26: exit                          ; 14: def hbh():

