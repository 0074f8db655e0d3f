// The machine's wasm SIMD ceiling: 8 independent f32x4 chains acc += x_i·m_j, 8 flops per chain per step.

// As in a GEMM micro-kernel (4 × 8: four broadcasts times two vectors), only the add (or the FMA) is
// on each chain's dependency path. The four x_i stay in registers and the two m_j are loaded afresh
// every step (loads use their own ports), so the eight products are distinct and no compiler can
// hoist or merge them. Eight chains cover the add's (FMA's) 3–4 cycle latency on two pipes; with the
// x_i and m_j that is 14 of V8's 16 vector registers.
// Returns a value depending on every chain, so the work cannot be optimised away.
export function ceiling(steps: i32, buffer: usize): f32 {
  const x0 = v128.load(buffer, 16), x1 = v128.load(buffer, 32), x2 = v128.load(buffer, 48), x3 = v128.load(buffer, 64);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  for (let i = 0; i < steps; i++) {
    const m0 = v128.load(buffer), m1 = v128.load(buffer, 80);
    a0 = step(x0, m0, a0); a1 = step(x1, m0, a1); a2 = step(x2, m0, a2); a3 = step(x3, m0, a3);
    a4 = step(x0, m1, a4); a5 = step(x1, m1, a5); a6 = step(x2, m1, a6); a7 = step(x3, m1, a7);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  return f32x4.extract_lane(s, 0);
}

/** FLOPs of one call: steps × 8 chains × 4 lanes × 2 (multiply and add). */
export function ceilingFlops(steps: i32): f64 {
  return <f64>steps * 64;
}

@inline function step(x: v128, m: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, m, acc);
  return f32x4.add(f32x4.mul(x, m), acc);
}
