// The machine's wasm SIMD ceiling: A independent f32x4 chains acc_k += u_k·v_k (A = 8, 10, 12), operands from registers or loads.

// Only the add (or the FMA) is on each chain's dependency path, as in a GEMM micro-kernel, so A chains
// cover the add's (FMA's) 3–4 cycle latency on two or more pipes when A ≥ latency × pipes. Which A is
// fastest depends on the machine and the engine, so the bench times every probe and takes the best.
//
// V8 on x64 allocates 15 vector registers (xmm15 is its scratch):
// - loads (probeLoads*): v_k is a v128.load at its own constant offset from a pointer that walks a
//   1 KiB ring (so no load is loop-invariant), u_k one register. V8 does not fold the load into the
//   FMA, and keeps two loads in flight: A + 1 + 2 registers, no spills at A = 12 (with a second u
//   register V8 spilled one accumulator there: a store and reload on its chain every step). This is
//   what a kernel's inner loop does: one load feeding each multiply-add.
// - registers (probeRegisters*): no loads in the loop. In the relaxed build u_k, v_k come from three
//   registers (FMAs of different accumulators cannot be merged), A + 3 ≤ 15. In the fixed build a
//   product must differ from every other chain's and from the previous step's: V8 unrolls the loop
//   twice and value-numbers the second copy's loop-invariant multiplies away (seen with
//   --print-wasm-code), and the probe would count multiplies it never did. So u_k is one of four x,
//   v_k one of up to three v_j = the float bits 0.5, 0.75, 0.625 plus the step (an integer splat, not
//   counted; a kept constant to add would take the 16th register): A + 4 + 3 registers and one for the
//   product: no spill at A = 8; at 10 and 12 V8 spills accumulators (a store and a reload on their
//   chains each step), so those two under-read and the best of all probes takes another.
// Values stay normal floats (the buffer holds 0.5s: 2^21 steps of 0.25 stay far below overflow, and
// no denormal can appear). Each probe returns a value depending on every chain, so nothing is dead.

const RING_MASK: usize = 63; // the loads' pointer walks 64 × 16 bytes

export function probeLoads8(steps: i32, buffer: usize): f32 { return chains(8, true, steps, buffer); }
export function probeLoads10(steps: i32, buffer: usize): f32 { return chains(10, true, steps, buffer); }
export function probeLoads12(steps: i32, buffer: usize): f32 { return chains(12, true, steps, buffer); }
export function probeRegisters8(steps: i32, buffer: usize): f32 { return chains(8, false, steps, buffer); }
export function probeRegisters10(steps: i32, buffer: usize): f32 { return chains(10, false, steps, buffer); }
export function probeRegisters12(steps: i32, buffer: usize): f32 { return chains(12, false, steps, buffer); }

/** FLOPs of one probe call: steps × chains × 4 lanes × 2 (multiply and add). */
export function probeFlops(steps: i32, chainCount: i32): f64 {
  return <f64>steps * <f64>chainCount * 8;
}

/** Bytes of the buffer a probe reads from `buffer`: the ring plus the twelve offsets past its end. */
export const PROBE_BUFFER_BYTES: i32 = (<i32>RING_MASK + 1 + 12) * 16;

// Inlined into each probe with A and loads constant: Binaryen folds every `if` below and drops the
// unused accumulators, so each probe's loop body is straight-line code (see its .wat).
@inline function chains(A: i32, loads: bool, steps: i32, buffer: usize): f32 {
  const x0 = v128.load(buffer, 0), x1 = v128.load(buffer, 16), x2 = v128.load(buffer, 32), x3 = v128.load(buffer, 48);
  const m0 = v128.load(buffer, 64);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  let a8 = f32x4.splat(0), a9 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  for (let i = 0; i < steps; i++) {
    if (loads) {
      const p = buffer + ((<usize>i & RING_MASK) << 4);
      a0 = step(x0, v128.load(p, 0), a0); a1 = step(x0, v128.load(p, 16), a1);
      a2 = step(x0, v128.load(p, 32), a2); a3 = step(x0, v128.load(p, 48), a3);
      a4 = step(x0, v128.load(p, 64), a4); a5 = step(x0, v128.load(p, 80), a5);
      a6 = step(x0, v128.load(p, 96), a6); a7 = step(x0, v128.load(p, 112), a7);
      if (A > 8) { a8 = step(x0, v128.load(p, 128), a8); a9 = step(x0, v128.load(p, 144), a9); }
      if (A > 10) { a10 = step(x0, v128.load(p, 160), a10); a11 = step(x0, v128.load(p, 176), a11); }
    } else if (ASC_FEATURE_RELAXED_SIMD) {
      a0 = step(x0, m0, a0); a1 = step(x1, m0, a1); a2 = step(x0, m0, a2); a3 = step(x1, m0, a3);
      a4 = step(x0, m0, a4); a5 = step(x1, m0, a5); a6 = step(x0, m0, a6); a7 = step(x1, m0, a7);
      if (A > 8) { a8 = step(x0, m0, a8); a9 = step(x1, m0, a9); }
      if (A > 10) { a10 = step(x0, m0, a10); a11 = step(x1, m0, a11); }
    } else {
      const v0 = i32x4.splat(0x3f000000 + i), v1 = i32x4.splat(0x3f400000 + i);
      a0 = step(x0, v0, a0); a1 = step(x1, v0, a1); a2 = step(x2, v0, a2); a3 = step(x3, v0, a3);
      a4 = step(x0, v1, a4); a5 = step(x1, v1, a5); a6 = step(x2, v1, a6); a7 = step(x3, v1, a7);
      const v2 = i32x4.splat(0x3f200000 + i);
      if (A > 8) { a8 = step(x0, v2, a8); a9 = step(x1, v2, a9); }
      if (A > 10) { a10 = step(x2, v2, a10); a11 = step(x3, v2, a11); }
    }
  }
  const s = f32x4.add(f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7))),
    f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11)));
  return f32x4.extract_lane(s, 0);
}

@inline function step(u: v128, v: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(u, v, acc);
  return f32x4.add(f32x4.mul(u, v), acc);
}
