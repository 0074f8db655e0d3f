// L = (1/n) Σ (p − t)² and dL/dp = 2(p − t)/n over all n elements, in one pass (torch's mse_loss, reduction "mean").

// The squares are summed four lanes at a time in float32 for each block of 1,024 elements, and the
// blocks in float64: n may be large, and a long float32 sum would lose the small terms. grad = 0
// computes the loss alone.
export function mseLoss(pred: usize, target: usize, grad: usize, count: i32): f64 {
  const scale = f32x4.splat(<f32>(2.0 / <f64>count));
  let total: f64 = 0;
  for (let start = 0; start < count; start += 1024) {
    const end = min(count, start + 1024);
    let lanes = f32x4.splat(0);
    let tail: f32 = 0;
    let i = start;
    for (; i + 4 <= end; i += 4) {
      const o = <usize>i << 2;
      const d = f32x4.sub(v128.load(pred + o), v128.load(target + o));
      lanes = f32x4.add(lanes, f32x4.mul(d, d));
      if (grad != 0) v128.store(grad + o, f32x4.mul(d, scale));
    }
    for (; i < end; i++) {
      const o = <usize>i << 2;
      const d = load<f32>(pred + o) - load<f32>(target + o);
      tail += d * d;
      if (grad != 0) store<f32>(grad + o, d * <f32>(2.0 / <f64>count));
    }
    total += <f64>((f32x4.extract_lane(lanes, 0) + f32x4.extract_lane(lanes, 1)) + (f32x4.extract_lane(lanes, 2) + f32x4.extract_lane(lanes, 3))) + <f64>tail;
  }
  return total / <f64>count;
}
