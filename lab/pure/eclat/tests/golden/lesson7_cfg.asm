; chain cfg () - 28 instructions, ID 0x40000001 until linked
   0: r2 = 1                        ; 11: s64 : limit = app_cfg_load(KEY_LIMIT)
   1: r1 = 0                        ; program hike_default.app_cfg_load
   2: call hike_elem_call_2
   3: r6 = r0
   4: if r6 != 0xfffffffe goto +5   ; 12: if limit == ENOENT:
   5: r2 = 1                        ; 13: app_cfg_store(KEY_LIMIT, 3)
   6: r3 = 3
   7: r1 = 0                        ; program hike_default.app_cfg_store
   8: call hike_elem_call_3
   9: r6 = 3                        ; 14: limit = 3
  10: r7 = 0                        ; 15: s64 : n = 0
  11: if r7 s>= r6 goto +6          ; 16: while n < limit:
  12: r2 = 500                      ; 17: monitor(500 + n)
  13: r2 += r7
  14: r1 = 0                        ; program hike_default.monitor
  15: call hike_elem_call_2
  16: r7 += 1                       ; 18: n += 1
  17: goto -7                       ; 16: while n < limit:
  18: r0 = r6                       ; 19: if limit - 10 < 0:                     # signed comparison
  19: r0 -= 10
  20: if r0 s>= 0x0 goto +4
  21: r1 = 0                        ; program hike_default.hike_pass | 20: hike_pass()
  22: call hike_elem_call_1
  23: r0 = 0                        ; 21: return 0
  24: exit
  25: r1 = 0                        ; program hike_default.hike_drop | 22: hike_drop()
  26: call hike_elem_call_1
  27: exit                          ; 10: def cfg():

