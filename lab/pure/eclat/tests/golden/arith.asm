; chain arith () - 35 instructions, ID 0x40000001 until linked
   0: r2 = 106                      ; 11: monitor(BASE + 2 * 3)             # 106: Python precedence
   1: r1 = 0                        ; program hike_default.monitor
   2: call hike_elem_call_2
   3: r6 = 93                       ; 12: u64 : x = BASE - STEP             # 93
   4: r2 = r6                       ; 13: monitor(x << 1)                   # 186
   5: r2 <<= 1
   6: r1 = 0                        ; program hike_default.monitor
   7: call hike_elem_call_2
   8: r2 = r6                       ; 14: monitor((x + 1) % 10)             # 4
   9: r2 += 1
  10: r2 %= 10
  11: r1 = 0                        ; program hike_default.monitor
  12: call hike_elem_call_2
  13: r2 = 1                        ; 15: monitor(x & 1 == 1)               # (x & 1) == 1 -> 1, not x & (1 == 1)
  14: r0 = r6
  15: r0 &= 1
  16: if r0 == 0x1 goto +1
  17: r2 = 0
  18: r1 = 0                        ; program hike_default.monitor
  19: call hike_elem_call_2
  20: r7 = r6                       ; 16: u8 : small = x * 3                # 279 truncated to u8: 23
  21: r7 *= 3
  22: r7 &= 255
  23: r2 = r7                       ; 17: monitor(small)
  24: r1 = 0                        ; program hike_default.monitor
  25: call hike_elem_call_2
  26: r6 += 7                       ; 18: x += 7                            # 100
  27: r6 *= 2                       ; 19: x *= 2                            # 200
  28: r2 = r6                       ; 20: monitor(x / 3)                    # 66
  29: r2 /= 3
  30: r1 = 0                        ; program hike_default.monitor
  31: call hike_elem_call_2
  32: r1 = 0                        ; program hike_default.hike_pass | 21: hike_pass()
  33: call hike_elem_call_1
  34: exit                          ; 10: def arith():

