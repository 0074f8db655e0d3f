// Linear y = x·Wᵀ + b (x: N×in, W: out×in as in PyTorch) with dx = dy·W, dW = dyᵀ·x, db = Σ_n dy[n,·], side by side.

import { gemmNN } from "../gemm/gemm_nn_4x8_simd";
import { gemmNT } from "../gemm/gemm_nt_4x2_simd";

// x·Wᵀ reads both operands along their rows (length in), the layout gemmNT wants: no transposed copy of W.
export function linearForward(x: usize, w: usize, bias: usize, y: usize, batch: i32, inFeatures: i32, outFeatures: i32): void {
  const rowBytes = <usize>outFeatures << 2;
  if (bias != 0) {
    for (let n = 0; n < batch; n++) memory.copy(y + <usize>n * rowBytes, bias, rowBytes);
  }
  gemmNT(batch, outFeatures, inFeatures, x, inFeatures, w, inFeatures, y, outFeatures, bias != 0);
}

// dx (N×in) = dy (N×out) · W (out×in).
export function linearDx(dy: usize, w: usize, dx: usize, batch: i32, inFeatures: i32, outFeatures: i32): void {
  gemmNN(batch, inFeatures, outFeatures, dy, outFeatures, 1, w, inFeatures, dx, inFeatures, false);
}

// dW (out×in) (+)= dyᵀ (out×N) · x (N×in): dy is read transposed through gemmNN's strides.
export function linearDw(dy: usize, x: usize, dw: usize, batch: i32, inFeatures: i32, outFeatures: i32, accumulate: bool): void {
  gemmNN(outFeatures, inFeatures, batch, dy, 1, outFeatures, x, inFeatures, dw, inFeatures, accumulate);
}

// db[o] (+)= Σ_n dy[n,o]: rows added four columns at a time.
export function linearDb(dy: usize, db: usize, batch: i32, outFeatures: i32, accumulate: bool): void {
  const rowBytes = <usize>outFeatures << 2;
  let o = 0;
  for (; o + 4 <= outFeatures; o += 4) {
    const column = <usize>o << 2;
    let sum = accumulate ? v128.load(db + column) : f32x4.splat(0);
    for (let n = 0; n < batch; n++) sum = f32x4.add(sum, v128.load(dy + <usize>n * rowBytes + column));
    v128.store(db + column, sum);
  }
  for (; o < outFeatures; o++) {
    const column = <usize>o << 2;
    let sum: f32 = accumulate ? load<f32>(db + column) : 0;
    for (let n = 0; n < batch; n++) sum += load<f32>(dy + <usize>n * rowBytes + column);
    store<f32>(db + column, sum);
  }
}
