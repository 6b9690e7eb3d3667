/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/* One step of the HIKe interpreter, included where the step runs: inline in the VM's bounded
 * loop, or in the bpf_loop callback of the fallback build. The includer defines STEP_NEXT(),
 * STEP_CALL() and STEP_ABORT(err), and has in scope: ctx, cd, f (the active frame, updated on
 * chain calls and exits), i (the step's index in the burst), on, prog, err, and the scratch
 * variables raw, regs, dv, sv, imm64, code, dst, src, pc, d, imm, off, cond. */

pc = f->upc;
if (pc >= HIKE_MAX_INSNS || pc >= f->ninsn) {
	err = HVM_ERR_PC;
	STEP_ABORT(err);
}
raw = f->insns[pc & (HIKE_MAX_INSNS - 1)];
pc++;
code = raw & 0xff;
dst = (raw >> 8) & 0x0f;
regs = f->regs;
/* fast path: `mov dst, imm`, the most common instruction of a chain */
if (code == (BPF_ALU64 | BPF_MOV | BPF_K)) {
	__u64 v = (__u64)(__s64)(__s32)(raw >> 32);

	if (dst > 9)
		STEP_ABORT(HVM_ERR_REG);
	regs[dst] = v;
	/* fused with the next instruction when it is the call of program v
	 * (`mov r1, ID; call`, how chains call programs); it still counts as two
	 * instructions of the burst */
	if (dst == 1 && v != HIKE_VM_PROG_ID && v < HIKE_MAX_PROGRAMS &&
	    i + 1 < HIKE_BURST_BUDGET && pc < HIKE_MAX_INSNS && pc < f->ninsn) {
		__u64 nx = f->insns[pc & (HIKE_MAX_INSNS - 1)];
		__s32 nimm = (__s32)(nx >> 32);

		if ((nx & 0xffff) == (BPF_JMP | BPF_CALL) &&
		    (nimm == HIKE_CALL_ELEM_0 || nimm == HIKE_CALL_ELEM_1 ||
		     nimm == HIKE_CALL_ELEM_2 || nimm == HIKE_CALL_ELEM_3)) {
			prog = v;
			f->upc = pc + 1;
			STEP_CALL();
		}
	}
	f->upc = pc;
	STEP_NEXT();
}
imm = (__s32)(raw >> 32);
/* fast path: a call of a program (r1 = its ID) */
if (code == (BPF_JMP | BPF_CALL) && regs[1] < HIKE_MAX_PROGRAMS &&
    regs[1] != HIKE_VM_PROG_ID && (raw & 0xff00) == 0 &&
    (imm == HIKE_CALL_ELEM_0 || imm == HIKE_CALL_ELEM_1 ||
     imm == HIKE_CALL_ELEM_2 || imm == HIKE_CALL_ELEM_3)) {
	prog = regs[1];
	f->upc = pc;
	STEP_CALL();
}
src = (raw >> 12) & 0x0f;
off = (__s16)(raw >> 16);
if (dst > 10 || src > 10)
	STEP_ABORT(HVM_ERR_REG);
/* fast path: `if dst ==/!= imm goto`, how chains test a program's result */
if (code == (BPF_JMP | BPF_JEQ | BPF_K) || code == (BPF_JMP | BPF_JNE | BPF_K)) {
	cond = regs[dst] == (__u64)(__s64)imm;
	if (code == (BPF_JMP | BPF_JNE | BPF_K))
		cond = !cond;
	if (cond)
		pc += off;
	f->upc = pc;
	STEP_NEXT();
}

switch (BPF_CLASS(code)) {
case BPF_ALU64:
	if (dst == 10)
		STEP_ABORT(HVM_ERR_REG);
	dv = regs[dst];
	sv = (code & BPF_X) ? regs[src] : (__u64)(__s64)imm;
	switch (BPF_OP(code)) {
	case BPF_ADD: dv += sv; break;
	case BPF_SUB: dv -= sv; break;
	case BPF_MUL: dv *= sv; break;
	case BPF_DIV: dv = sv ? dv / sv : 0; break;
	case BPF_MOD: dv = sv ? dv % sv : dv; break;
	case BPF_OR: dv |= sv; break;
	case BPF_AND: dv &= sv; break;
	case BPF_XOR: dv ^= sv; break;
	case BPF_LSH: dv <<= (sv & 63); break;
	case BPF_RSH: dv >>= (sv & 63); break;
	case BPF_ARSH: dv = (__u64)((__s64)dv >> (sv & 63)); break;
	case BPF_NEG: dv = -dv; break;
	case BPF_MOV: dv = sv; break;
	default: STEP_ABORT(HVM_ERR_OPCODE);
	}
	regs[dst] = dv;
	f->upc = pc;
	STEP_NEXT();
case BPF_ALU:
	/* only the byte-swap END op */
	if (BPF_OP(code) != BPF_END)
		STEP_ABORT(HVM_ERR_OPCODE);
	if (dst == 10)
		STEP_ABORT(HVM_ERR_REG);
	dv = regs[dst];
	if (code & BPF_X) {	/* to big endian */
		switch (imm) {
		case 16: dv = __builtin_bswap16((__u16)dv); break;
		case 32: dv = __builtin_bswap32((__u32)dv); break;
		case 64: dv = __builtin_bswap64(dv); break;
		default: STEP_ABORT(HVM_ERR_OPCODE);
		}
	} else {
		switch (imm) {
		case 16: dv = (__u16)dv; break;
		case 32: dv = (__u32)dv; break;
		case 64: break;
		default: STEP_ABORT(HVM_ERR_OPCODE);
		}
	}
	regs[dst] = dv;
	f->upc = pc;
	STEP_NEXT();
case BPF_LD:
	if (code != (BPF_LD | BPF_IMM | BPF_DW) || src != 0)
		STEP_ABORT(HVM_ERR_OPCODE);
	if (dst == 10)
		STEP_ABORT(HVM_ERR_REG);
	if (pc >= HIKE_MAX_INSNS || pc >= f->ninsn) {
		err = HVM_ERR_PC;
		STEP_ABORT(err);
	}
	imm64 = f->insns[pc & (HIKE_MAX_INSNS - 1)];
	regs[dst] = (__u64)(__u32)imm | (imm64 & 0xffffffff00000000ULL);
	f->upc = pc + 1;
	STEP_NEXT();
case BPF_LDX:
case BPF_ST:
case BPF_STX:
	err = hvm_mem(ctx, raw);
	if (err)
		STEP_ABORT(err);
	f->upc = pc;
	STEP_NEXT();
case BPF_JMP:
	break;
default:
	STEP_ABORT(HVM_ERR_OPCODE);
}

dv = regs[dst];
sv = (code & BPF_X) ? regs[src] : (__u64)(__s64)imm;
switch (BPF_OP(code)) {
case BPF_JA: cond = 1; break;
case BPF_JEQ: cond = dv == sv; break;
case BPF_JNE: cond = dv != sv; break;
case BPF_JGT: cond = dv > sv; break;
case BPF_JGE: cond = dv >= sv; break;
case BPF_JLT: cond = dv < sv; break;
case BPF_JLE: cond = dv <= sv; break;
case BPF_JSET: cond = (dv & sv) != 0; break;
case BPF_JSGT: cond = (__s64)dv > (__s64)sv; break;
case BPF_JSGE: cond = (__s64)dv >= (__s64)sv; break;
case BPF_JSLT: cond = (__s64)dv < (__s64)sv; break;
case BPF_JSLE: cond = (__s64)dv <= (__s64)sv; break;
case BPF_CALL: {
	__u64 elem = regs[1];

	if (code != (BPF_JMP | BPF_CALL) ||
	    (imm != HIKE_CALL_ELEM_0 && imm != HIKE_CALL_ELEM_1 &&
	     imm != HIKE_CALL_ELEM_2 && imm != HIKE_CALL_ELEM_3))
		STEP_ABORT(HVM_ERR_OPCODE);
	f->upc = pc;
	if (elem >> 32) {
		err = HVM_ERR_PROG_ID;
		STEP_ABORT(err);
	}
	if (!HIKE_IS_CHAIN(elem)) {
		if (elem == HIKE_VM_PROG_ID || elem >= HIKE_MAX_PROGRAMS) {
			err = HVM_ERR_PROG_ID;
			STEP_ABORT(err);
		}
		prog = elem;
		STEP_CALL();
	}
	err = hvm_call_chain((__u32)elem, on);
	if (err)
		STEP_ABORT(err);
	f = HVM_FRAME(cd);
	STEP_NEXT();
}
case BPF_EXIT: {
	if (code != (BPF_JMP | BPF_EXIT))
		STEP_ABORT(HVM_ERR_OPCODE);
	f->upc = pc;
	d = cd->active;
	hvm_trace_ev(on, HVM_EV_CHAIN_EXIT, f->chain_id, f->chain_id, pc, d, 0, regs);
	if (d <= 1) {
		err = HVM_ERR_BOOTSTRAP;
		STEP_ABORT(err);
	}
	cd->frames[(d - 1) & (HIKE_MAX_FRAMES - 1)].regs[0] = regs[0];
	cd->active = d - 1;
	f = HVM_FRAME(cd);
	STEP_NEXT();
}
default:
	STEP_ABORT(HVM_ERR_OPCODE);
}
if (cond)
	pc += off;
f->upc = pc;
