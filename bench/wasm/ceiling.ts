// The machine's wasm SIMD ceiling: 12 independent f32x4 accumulate chains acc_i += x_i·m, 8 flops per chain per step.

// As in a GEMM micro-kernel, only the add (or the FMA) is on each chain's dependency path, and the
// multiplicands x_i are loaded from a small L1-resident buffer each step so that no compiler can hoist
// or merge the products. Twelve chains hide the add's (FMA's) 3–4 cycle latency on two or more pipes;
// more would spill. Returns a value depending on every chain, so the work cannot be optimised away.
export function ceiling(steps: i32, buffer: usize): f32 {
  const m = f32x4.splat(0.999);
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  let a4 = f32x4.splat(0), a5 = f32x4.splat(0), a6 = f32x4.splat(0), a7 = f32x4.splat(0);
  let a8 = f32x4.splat(0), a9 = f32x4.splat(0), a10 = f32x4.splat(0), a11 = f32x4.splat(0);
  for (let i = 0; i < steps; i++) {
    a0 = step(v128.load(buffer), m, a0); a1 = step(v128.load(buffer, 16), m, a1);
    a2 = step(v128.load(buffer, 32), m, a2); a3 = step(v128.load(buffer, 48), m, a3);
    a4 = step(v128.load(buffer, 64), m, a4); a5 = step(v128.load(buffer, 80), m, a5);
    a6 = step(v128.load(buffer, 96), m, a6); a7 = step(v128.load(buffer, 112), m, a7);
    a8 = step(v128.load(buffer, 128), m, a8); a9 = step(v128.load(buffer, 144), m, a9);
    a10 = step(v128.load(buffer, 160), m, a10); a11 = step(v128.load(buffer, 176), m, a11);
  }
  const s = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7)));
  const t = f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11));
  return f32x4.extract_lane(f32x4.add(s, t), 0);
}

/** FLOPs of one call: steps × 12 chains × 4 lanes × 2 (multiply and add). */
export function ceilingFlops(steps: i32): f64 {
  return <f64>steps * 96;
}

/** Bytes of the buffer ceiling() reads: 12 vectors. */
export const CEILING_BUFFER_BYTES: i32 = 192;

@inline function step(x: v128, m: v128, acc: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(x, m, acc);
  return f32x4.add(f32x4.mul(x, m), acc);
}
