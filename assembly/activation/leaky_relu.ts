// LeakyReLU y = x where x > 0, else slope·x, and its backward dx = dy where x > 0, else slope·dy, side by side.

// As torch's leaky_relu: the gradient at 0 is slope's; NaN gives NaN forward and slope·dy backward.
export function leakyReluForward(x: usize, y: usize, count: i32, slope: f32): void {
  const zero = f32x4.splat(0), s = f32x4.splat(slope);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(y + o, v128.bitselect(v, f32x4.mul(v, s), f32x4.gt(v, zero)));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : v * slope);
  }
}

export function leakyReluBackward(x: usize, dy: usize, dx: usize, count: i32, slope: f32): void {
  const zero = f32x4.splat(0), s = f32x4.splat(slope);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(dy + o);
    v128.store(dx + o, v128.bitselect(g, f32x4.mul(g, s), f32x4.gt(v128.load(x + o), zero)));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(dy + o);
    store<f32>(dx + o, load<f32>(x + o) > 0 ? g : g * slope);
  }
}
