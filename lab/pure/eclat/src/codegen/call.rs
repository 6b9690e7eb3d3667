//! Calls: an element (program or chain) through the VM's call helpers, with the live scratch
//! registers spilled around it; `Packet` accessors through the MMU's PACKET bank.

use super::Gen;
use crate::hir::*;
use crate::program::{Reloc, Target};
use hike::FIRST_CHAIN_ID;
use hike::insn::{Insn, call, op};

const SIZE_BITS: [(u8, u8); 3] = [(1, op::B), (2, op::H), (4, op::W)];

impl Gen<'_> {
    /// A call, or a `Packet` accessor. The result goes to `dst` if given.
    pub(super) fn call(&mut self, e: &HExpr, dst: Option<u8>) -> Option<()> {
        match &e.kind {
            HExprKind::Call { target, args } => self.call_element(e, target, args, dst),
            HExprKind::PacketRead { size, offset } => {
                let addr = self.packet_address(e, offset)?;
                if let Some(d) = dst {
                    self.emit(Insn::new(
                        op::LDX | op::MEM | size_bits(*size),
                        d,
                        addr,
                        0,
                        0,
                    ));
                    if *size > 1 {
                        self.emit(Insn::new(
                            op::ALU | op::END | op::TO_BE,
                            d,
                            0,
                            0,
                            *size as i32 * 8,
                        ));
                    }
                }
                self.free(addr);
                Some(())
            }
            HExprKind::PacketWrite {
                size,
                offset,
                value,
            } => {
                let addr = self.packet_address(e, offset)?;
                self.packet_store(addr, *size, value);
                self.free(addr);
                if let Some(d) = dst {
                    self.mov_imm(d, 0);
                }
                Some(())
            }
            _ => None,
        }
    }

    /// r1 = the element's ID (a relocation), r2.. = the arguments, `call` with their count.
    fn call_element(
        &mut self,
        e: &HExpr,
        target: &CallTarget,
        args: &[HExpr],
        dst: Option<u8>,
    ) -> Option<()> {
        let target = match target {
            CallTarget::Program { package, name, .. } => {
                self.used.insert((package.clone(), name.clone()));
                Target::Program {
                    package: package.clone(),
                    name: name.clone(),
                }
            }
            CallTarget::Chain(i) => Target::Chain(*i),
        };
        // the call clobbers r0..r5: spill the live scratch registers
        let saved = self.spill(e, dst)?;
        let dst_scratch = dst.filter(|r| (*r as usize) < 6 && self.busy[*r as usize]);
        if let Some(r) = dst_scratch {
            self.busy[r as usize] = false;
        }
        let mut ok = true;
        for (i, a) in args.iter().enumerate() {
            let r = 2 + i as u8;
            if self.alloc_specific(r, a.span).is_none() || self.eval(a, r).is_none() {
                ok = false;
                break;
            }
        }
        if ok {
            let at = self.code.len();
            let placeholder = match &target {
                Target::Chain(i) => (FIRST_CHAIN_ID + *i as u32) as i32,
                Target::Program { .. } => 0,
            };
            self.emit(Insn::new(op::ALU64 | op::MOV | op::K, 1, 0, 0, placeholder));
            self.relocs.push(Reloc { insn: at, target });
            self.emit(Insn::new(
                op::JMP | op::CALL,
                0,
                0,
                0,
                call::for_args(args.len()).unwrap_or(call::CALL_0),
            ));
        }
        for i in 0..args.len() {
            self.free(2 + i as u8);
        }
        for (r, _) in &saved {
            self.busy[*r as usize] = true;
        }
        if let Some(r) = dst_scratch {
            self.busy[r as usize] = true;
        }
        if let Some(d) = dst
            && ok
        {
            self.mov_x(d, 0);
        }
        for (r, slot) in saved.iter().rev() {
            self.load(*r, *slot);
            self.temp_depth -= 1;
        }
        ok.then_some(())
    }

    /// Stores the busy scratch registers (but `dst`) in temporary slots and frees them.
    fn spill(&mut self, e: &HExpr, dst: Option<u8>) -> Option<Vec<(u8, i16)>> {
        let mut saved = Vec::new();
        for r in 0u8..6 {
            if self.busy[r as usize] && Some(r) != dst {
                let slot = self.temp_slot(e.span)?;
                self.store(slot, r);
                saved.push((r, slot));
                self.busy[r as usize] = false;
            }
        }
        Some(saved)
    }

    /// A scratch register holding the MMU address of packet byte `offset`.
    fn packet_address(&mut self, e: &HExpr, offset: &HExpr) -> Option<u8> {
        let addr = self.alloc(e.span)?;
        match offset.constant() {
            // the checker refused constant offsets outside the PACKET window
            Some(o) => self.mov_imm(addr, hike::layout::mmu::PACKET_DATA as u64 + o),
            None => {
                if self.eval(offset, addr).is_none() {
                    self.free(addr);
                    return None;
                }
                self.emit(Insn::new(
                    op::ALU64 | op::ADD | op::K,
                    addr,
                    0,
                    0,
                    hike::layout::mmu::PACKET_DATA as i32,
                ));
            }
        }
        Some(addr)
    }

    /// `*addr = value` in network byte order.
    fn packet_store(&mut self, addr: u8, size: u8, value: &HExpr) {
        let sz = size_bits(size);
        if let Some(v) = value.constant() {
            let wire = match size {
                1 => v & 0xff,
                2 => (v as u16).swap_bytes() as u64,
                _ => (v as u32).swap_bytes() as u64,
            };
            self.emit(Insn::new(
                op::ST | op::MEM | sz,
                addr,
                0,
                0,
                wire as u32 as i32,
            ));
            return;
        }
        let Some(v) = self.alloc(value.span) else {
            return;
        };
        if self.eval(value, v).is_some() {
            if size > 1 {
                self.emit(Insn::new(
                    op::ALU | op::END | op::TO_BE,
                    v,
                    0,
                    0,
                    size as i32 * 8,
                ));
            }
            self.emit(Insn::new(op::STX | op::MEM | sz, addr, v, 0, 0));
        }
        self.free(v);
    }
}

fn size_bits(size: u8) -> u8 {
    SIZE_BITS
        .iter()
        .find(|(s, _)| *s == size)
        .map(|(_, b)| *b)
        .unwrap_or(op::B)
}
