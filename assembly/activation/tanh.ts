// tanh y = tanh(x) (Cephes' float form) and its backward dx = dy·(1 − y²), y recomputed from x, side by side.

import { expF32x4 } from "../math/exp";

// Cephes' tanhf: below |x| = 0.625 a polynomial in x² (relative error ≈ 1 ulp, so tanh(10^−30) is
// 10^−30, not the 0 that 1 − e^−2|x| would round to); above, (1 − e^−2|x|)/(1 + e^−2|x|) through |x|,
// so e^−2|x| ≤ 1 never overflows. The sign is copied back, which also keeps −0 and NaN (torch.tanh's).
@inline function tanh4(x: v128): v128 {
  const a = f32x4.abs(x);
  const e = expF32x4(f32x4.mul(f32x4.splat(-2), a));
  const large = f32x4.div(f32x4.sub(f32x4.splat(1), e), f32x4.add(f32x4.splat(1), e));
  const z = f32x4.mul(a, a);
  let p = f32x4.splat(-5.70498872745e-3);
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(2.06390887954e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-5.37397155531e-2));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(1.33314422036e-1));
  p = f32x4.add(f32x4.mul(p, z), f32x4.splat(-3.33332819422e-1));
  const small = f32x4.add(f32x4.mul(f32x4.mul(p, z), a), a);
  const t = v128.bitselect(small, large, f32x4.lt(a, f32x4.splat(0.625)));
  const sign = v128.and(x, i32x4.splat(0x80000000));
  return v128.or(v128.andnot(t, i32x4.splat(0x80000000)), sign);
}

@inline function tanh1(x: f32): f32 {
  return f32x4.extract_lane(tanh4(f32x4.splat(x)), 0);
}

export function tanhForward(x: usize, y: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, tanh4(v128.load(x + o)));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, tanh1(load<f32>(x + o)));
  }
}

export function tanhBackward(x: usize, dy: usize, dx: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const t = tanh4(v128.load(x + o));
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.sub(f32x4.splat(1), f32x4.mul(t, t))));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const t = tanh1(load<f32>(x + o));
    store<f32>(dx + o, load<f32>(dy + o) * (1 - t * t));
  }
}
