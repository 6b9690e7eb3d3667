; chain weigh (u64 : a, u64 : b) - 6 instructions, ID 0x40000001 until linked
   0: r6 = r2                       ; 9: def weigh(u64 : a, u64 : b):
   1: r7 = r3
   2: r0 = r6                       ; 10: return a * 10 + b
   3: r0 *= 10
   4: r0 += r7
   5: exit

; chain main () - 37 instructions, ID 0x40000002 until linked
   0: r2 = 4                        ; 13: u64 : w = weigh(4, 2)                 # 42
   1: r3 = 2
   2: r1 = 0x40000001               ; chain weigh
   3: call hike_elem_call_3
   4: r6 = r0
   5: r2 = r6                       ; 14: monitor(w)
   6: r1 = 0                        ; program hike_default.monitor
   7: call hike_elem_call_2
   8: r7 = 0                        ; 15: for i in range(3):
   9: if r7 >= 0x3 goto +6
  10: r2 = 1000                     ; 16: monitor(1000 + i)
  11: r2 += r7
  12: r1 = 0                        ; program hike_default.monitor
  13: call hike_elem_call_2
  14: r7 += 1                       ; 15: for i in range(3):
  15: goto -7
  16: r8 = 1                        ; 17: u64 : acc = 1
  17: r8 <<= 4                      ; 18: acc <<= 4
  18: r8 += 2                       ; 19: acc += 2
  19: r8 |= 1                       ; 20: acc |= 1                              # 19
  20: r2 = r8                       ; 21: monitor(acc)
  21: r1 = 0                        ; program hike_default.monitor
  22: call hike_elem_call_2
  23: r0 = 0x100001d                ; 22: u8 : hl = Packet.readU8(HOP_LIMIT)
  24: r9 = *(u8 *)(r0 + 0)
  25: if r9 > 0x1 goto +4           ; 23: if hl <= 1:
  26: r1 = 0                        ; program hike_default.hike_drop | 24: hike_drop()
  27: call hike_elem_call_1
  28: r0 = 0                        ; 25: return 0
  29: exit
  30: r0 = 0x100001d                ; 26: Packet.writeU8(HOP_LIMIT, hl - 1)
  31: r1 = r9
  32: r1 -= 1
  33: *(u8 *)(r0 + 0) = r1
  34: r1 = 0                        ; program hike_default.hike_pass | 27: hike_pass()
  35: call hike_elem_call_1
  36: exit                          ; 12: def main():

