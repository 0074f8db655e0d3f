// e^x on four lanes: x = n·ln2 + r with |r| ≤ ln2/2, e^r by Cephes' degree-6 polynomial, 2^n built in the exponent bits.

// Why our own: wasm has no vector exp, and a softmax over float32 wants one that rounds like Cephes'
// expf (≈ 1 ulp on [-87.3, 88.7]); inputs are clamped there, so e^x is never ∞ or a denormal, and NaN
// passes through (min/max propagate it and the polynomial keeps it).
const LOG2E: f32 = 1.44269504088896341;
const LN2_HIGH: f32 = 0.693359375;
const LN2_LOW: f32 = -2.12194440e-4;
const LOWEST: f32 = -87.3365447505;
const HIGHEST: f32 = 88.3762626647949;

@inline export function expF32x4(x: v128): v128 {
  x = f32x4.max(f32x4.min(x, f32x4.splat(HIGHEST)), f32x4.splat(LOWEST));
  const n = f32x4.floor(f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(0.5)));
  // r = x − n·ln2 in two steps: ln2's high part has few bits, so n·LN2_HIGH is exact.
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HIGH)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(LN2_LOW)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const er = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), f32x4.splat(1));
  // 2^n: n + 127 in the exponent field; the clamp keeps n in [-126, 127], so the field is never 0 or 255.
  const scale = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(er, scale);
}

// One value through the same arithmetic, for scalar tails: every element of a row rounds alike.
@inline export function expF32(x: f32): f32 {
  return f32x4.extract_lane(expF32x4(f32x4.splat(x)), 0);
}
