// Dropout: mask[i] = 1/(1 − p) where a counter-based hash of (seed, i) clears p, else 0; y = x·mask; backward dx = dy·mask.

// A hash of the element's index, not a running generator: every element's draw is independent of the
// others' and of how the work is split, so the same seed gives the same mask everywhere. The hash is
// Chris Wellons' lowbias32 (a 32-bit mixer with good avalanche); u = its top 24 bits / 2^24 is uniform
// in [0, 1), and an element is kept when u ≥ p.
@inline function mix4(v: v128): v128 {
  v = v128.xor(v, i32x4.shr_u(v, 16));
  v = i32x4.mul(v, i32x4.splat(0x7feb352d));
  v = v128.xor(v, i32x4.shr_u(v, 15));
  v = i32x4.mul(v, i32x4.splat(<i32>0x846ca68b));
  return v128.xor(v, i32x4.shr_u(v, 16));
}

export function dropoutForward(x: usize, y: usize, mask: usize, count: i32, p: f32, seed: u32): void {
  const keep = f32x4.splat(p);
  const scale = f32x4.splat(<f32>(1.0 / (1.0 - <f64>p)));
  const toUnit = f32x4.splat(<f32>1.0 / <f32>16777216.0);
  const base = i32x4.splat(<i32>(seed * 0x9e3779b9));
  let index = i32x4(0, 1, 2, 3);
  const step = i32x4.splat(4);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    const u = f32x4.mul(f32x4.convert_i32x4_u(i32x4.shr_u(mix4(i32x4.add(index, base)), 8)), toUnit);
    const m = v128.and(scale, f32x4.ge(u, keep));
    v128.store(mask + o, m);
    v128.store(y + o, f32x4.mul(v128.load(x + o), m));
    index = i32x4.add(index, step);
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    const u = f32x4.extract_lane(f32x4.mul(f32x4.convert_i32x4_u(i32x4.shr_u(mix4(i32x4.splat(i + <i32>(seed * 0x9e3779b9))), 8)), toUnit), 0);
    const m: f32 = u >= p ? f32x4.extract_lane(scale, 0) : 0;
    store<f32>(mask + o, m);
    store<f32>(y + o, load<f32>(x + o) * m);
  }
}

export function dropoutBackward(mask: usize, dy: usize, dx: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), v128.load(mask + o)));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(dy + o) * load<f32>(mask + o));
  }
}
