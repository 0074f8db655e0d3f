// L = (1/N) Σ_n [log Σ_k e^{z[n,k]} − z[n,y_n]] and dL/dz[n,k] = (softmax(z[n])_k − [k = y_n]) / N, in one pass per row.

import { expF32x4, expF32 } from "../math/exp";

// Stable: each row is shifted by its maximum m first (e^{z−m} ≤ 1, the largest term is exactly 1, so
// the sum never overflows or vanishes). labels are i32 class indices the API has range-checked.
// grad = 0 computes the loss alone (evaluation). Returns the mean loss, summed in f64.
export function softmaxCrossEntropy(logits: usize, labels: usize, grad: usize, batch: i32, classes: i32): f64 {
  const rowBytes = <usize>classes << 2;
  const inverseBatch: f32 = <f32>(1.0 / <f64>batch);
  let total: f64 = 0;
  for (let n = 0; n < batch; n++) {
    const row = logits + <usize>n * rowBytes;
    const m = rowMax(row, classes);
    const shift = f32x4.splat(m);
    const out = grad + <usize>n * rowBytes;
    let lanes = f32x4.splat(0);
    let tail: f32 = 0;
    let k = 0;
    for (; k + 4 <= classes; k += 4) {
      const e = expF32x4(f32x4.sub(v128.load(row + (<usize>k << 2)), shift));
      if (grad != 0) v128.store(out + (<usize>k << 2), e);
      lanes = f32x4.add(lanes, e);
    }
    for (; k < classes; k++) {
      const e = expF32(load<f32>(row + (<usize>k << 2)) - m);
      if (grad != 0) store<f32>(out + (<usize>k << 2), e);
      tail += e;
    }
    const sum = (f32x4.extract_lane(lanes, 0) + f32x4.extract_lane(lanes, 1))
      + (f32x4.extract_lane(lanes, 2) + f32x4.extract_lane(lanes, 3)) + tail;
    const label = load<i32>(labels + (<usize>n << 2));
    total += <f64>Mathf.log(sum) - <f64>(load<f32>(row + (<usize>label << 2)) - m);
    if (grad != 0) {
      const scale = f32x4.splat(inverseBatch / sum);
      k = 0;
      for (; k + 4 <= classes; k += 4) {
        const at = out + (<usize>k << 2);
        v128.store(at, f32x4.mul(v128.load(at), scale));
      }
      for (; k < classes; k++) {
        const at = out + (<usize>k << 2);
        store<f32>(at, load<f32>(at) * (inverseBatch / sum));
      }
      const target = out + (<usize>label << 2);
      store<f32>(target, load<f32>(target) - inverseBatch);
    }
  }
  return total / <f64>batch;
}

// max over one row of `count` (≥ 1) values; NaN anywhere gives NaN.
@inline export function rowMax(row: usize, count: i32): f32 {
  let k = 0;
  let best: f32 = load<f32>(row);
  if (count >= 4) {
    let lanes = v128.load(row);
    for (k = 4; k + 4 <= count; k += 4) lanes = f32x4.max(lanes, v128.load(row + (<usize>k << 2)));
    best = max(max(f32x4.extract_lane(lanes, 0), f32x4.extract_lane(lanes, 1)),
      max(f32x4.extract_lane(lanes, 2), f32x4.extract_lane(lanes, 3)));
  }
  for (; k < count; k++) best = max(best, load<f32>(row + (<usize>k << 2)));
  return best;
}
