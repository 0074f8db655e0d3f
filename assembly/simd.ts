// Vector helpers shared by the kernels: multiply-add, horizontal sum.

// With relaxed SIMD the build fuses to one FMA; the fixed build rounds twice, identically on every engine.
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// Pairwise ((l0 + l1) + (l2 + l3)): a fixed order, so the bits do not depend on the engine.
@inline export function horizontalSum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1))
    + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}
