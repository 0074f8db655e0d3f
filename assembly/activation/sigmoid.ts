// Sigmoid y = 1 / (1 + e^−x) and its backward dx = dy·y·(1 − y), y recomputed from x, side by side.

import { expF32x4 } from "../math/exp";

// expF32x4 clamps its argument to float32's range, so below x = −88.38 e^−x would stop growing and y
// stay at 4·10^−39: there y is 0 (the true value is below 10^−38 and underflows soon after, as in
// torch.sigmoid, which gives 0 at −∞). NaN stays NaN (NaN < −88 is false).
@inline function sigmoid4(x: v128): v128 {
  const y = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.splat(1), expF32x4(f32x4.neg(x))));
  return v128.andnot(y, f32x4.lt(x, f32x4.splat(-88.3762626647949)));
}

export function sigmoidForward(x: usize, y: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, sigmoid4(v128.load(x + o)));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, f32x4.extract_lane(sigmoid4(f32x4.splat(load<f32>(x + o))), 0));
  }
}

export function sigmoidBackward(x: usize, dy: usize, dx: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const s = sigmoid4(v128.load(x + o));
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.mul(s, f32x4.sub(f32x4.splat(1), s))));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const s = f32x4.extract_lane(sigmoid4(f32x4.splat(load<f32>(x + o))), 0);
    store<f32>(dx + o, load<f32>(dy + o) * (s * (1 - s)));
  }
}
