// Batch normalisation per channel c of x [N, C, H, W]: the batch's mean and variance, y = γ(x − μ)/√(σ² + ε) + β, its backward, and the running statistics.

// Sums run over the N·H·W values of a channel: four float32 lanes per block of 1,024 values, the
// blocks in float64, so a large batch keeps its small terms. The variance is two-pass, Σ(x − μ)²
// after μ, which stays exact where the values are large and close together (a one-pass Σx² − nμ²
// would cancel). Channels are independent: the per-channel statistics are C floats each.

const BLOCK: i32 = 1024;

const SUM: i32 = 0, PRODUCT: i32 = 1, SQUARE: i32 = 2;

/** Σ over channel c of (x − shift) (SUM), (x − shift)·y (PRODUCT) or (x − shift)² (SQUARE), in the blocked order above. */
@inline function channelSum(x: usize, y: usize, N: i32, C: i32, plane: i32, c: i32, shift: f32, form: i32): f64 {
  const planeBytes = <usize>plane << 2;
  const s = f32x4.splat(shift);
  let total: f64 = 0;
  for (let n = 0; n < N; n++) {
    const a = x + (<usize>(n * C + c)) * planeBytes, b = y + (<usize>(n * C + c)) * planeBytes;
    for (let start = 0; start < plane; start += BLOCK) {
      const end = min(plane, start + BLOCK);
      let lanes = f32x4.splat(0);
      let tail: f32 = 0;
      let i = start;
      for (; i + 4 <= end; i += 4) {
        const d = f32x4.sub(v128.load(a + (<usize>i << 2)), s);
        lanes = f32x4.add(lanes, form == SUM ? d : f32x4.mul(d, form == SQUARE ? d : v128.load(b + (<usize>i << 2))));
      }
      for (; i < end; i++) {
        const d = load<f32>(a + (<usize>i << 2)) - shift;
        tail += form == SUM ? d : d * (form == SQUARE ? d : load<f32>(b + (<usize>i << 2)));
      }
      total += <f64>((f32x4.extract_lane(lanes, 0) + f32x4.extract_lane(lanes, 1)) + (f32x4.extract_lane(lanes, 2) + f32x4.extract_lane(lanes, 3))) + <f64>tail;
    }
  }
  return total;
}

/** mean[c] and the biased var[c] of x over images and pixels. */
export function batchNormStatistics(x: usize, mean: usize, variance: usize, N: i32, C: i32, plane: i32): void {
  const count = <f64>N * <f64>plane;
  for (let c = 0; c < C; c++) {
    const mu = <f32>(channelSum(x, 0, N, C, plane, c, 0, SUM) / count);
    store<f32>(mean + (<usize>c << 2), mu);
    store<f32>(variance + (<usize>c << 2), <f32>(channelSum(x, 0, N, C, plane, c, mu, SQUARE) / count));
  }
}

/**
 * y = x·scale[c] + shift[c] with scale = γ/√(σ² + ε), shift = β − μ·scale (γ = 1, β = 0 where gamma or
 * beta is 0); also writes invStd[c] = 1/√(σ² + ε), which backward reuses.
 */
export function batchNormForward(
  x: usize, y: usize, mean: usize, variance: usize, gamma: usize, beta: usize, invStd: usize, N: i32, C: i32, plane: i32, eps: f32,
): void {
  const planeBytes = <usize>plane << 2;
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const inv: f32 = 1 / Mathf.sqrt(load<f32>(variance + o) + eps);
    store<f32>(invStd + o, inv);
    const g: f32 = gamma != 0 ? load<f32>(gamma + o) : 1;
    const scale = g * inv;
    const shift: f32 = (beta != 0 ? load<f32>(beta + o) : 0) - load<f32>(mean + o) * scale;
    const sv = f32x4.splat(scale), hv = f32x4.splat(shift);
    for (let n = 0; n < N; n++) {
      const a = x + (<usize>(n * C + c)) * planeBytes, b = y + (<usize>(n * C + c)) * planeBytes;
      let i = 0;
      for (; i + 4 <= plane; i += 4) v128.store(b + (<usize>i << 2), f32x4.add(f32x4.mul(v128.load(a + (<usize>i << 2)), sv), hv));
      for (; i < plane; i++) store<f32>(b + (<usize>i << 2), load<f32>(a + (<usize>i << 2)) * scale + shift);
    }
  }
}

/**
 * The gradients, with x̂ = (x − μ)·invStd: dβ[c] (+)= Σ dy, dγ[c] (+)= Σ dy·x̂ (where dGamma, dBeta are
 * not 0); dx (where not 0) = γ·invStd·(dy − Σdy/n − x̂·Σ(dy·x̂)/n) when the statistics were the batch's
 * (training), γ·invStd·dy when they were fixed (the running ones).
 */
export function batchNormBackward(
  x: usize, dy: usize, dx: usize, mean: usize, invStd: usize, gamma: usize, dGamma: usize, dBeta: usize,
  N: i32, C: i32, plane: i32, batchStatistics: bool, accumulate: bool,
): void {
  const planeBytes = <usize>plane << 2;
  const count = <f64>N * <f64>plane;
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const mu = load<f32>(mean + o), inv = load<f32>(invStd + o);
    const sumDy = channelSum(dy, 0, N, C, plane, c, 0, SUM);
    // Σ dy·x̂ = invStd·Σ (x − μ)·dy.
    const sumDyXhat = <f64>inv * channelSum(x, dy, N, C, plane, c, mu, PRODUCT);
    if (dBeta != 0) store<f32>(dBeta + o, <f32>((accumulate ? <f64>load<f32>(dBeta + o) : 0) + sumDy));
    if (dGamma != 0) store<f32>(dGamma + o, <f32>((accumulate ? <f64>load<f32>(dGamma + o) : 0) + sumDyXhat));
    if (dx == 0) continue;
    const g: f32 = gamma != 0 ? load<f32>(gamma + o) : 1;
    const k = g * inv;
    const meanDy = batchStatistics ? <f32>(sumDy / count) : 0;
    const meanDyXhat = batchStatistics ? <f32>(sumDyXhat / count) : 0;
    const kv = f32x4.splat(k), mdy = f32x4.splat(meanDy), mdx = f32x4.splat(meanDyXhat), muv = f32x4.splat(mu), iv = f32x4.splat(inv);
    for (let n = 0; n < N; n++) {
      const base = (<usize>(n * C + c)) * planeBytes;
      let i = 0;
      for (; i + 4 <= plane; i += 4) {
        const at = base + (<usize>i << 2);
        const xhat = f32x4.mul(f32x4.sub(v128.load(x + at), muv), iv);
        const inner = f32x4.sub(f32x4.sub(v128.load(dy + at), mdy), f32x4.mul(xhat, mdx));
        v128.store(dx + at, f32x4.mul(kv, inner));
      }
      for (; i < plane; i++) {
        const at = base + (<usize>i << 2);
        const xhat = (load<f32>(x + at) - mu) * inv;
        store<f32>(dx + at, k * ((load<f32>(dy + at) - meanDy) - xhat * meanDyXhat));
      }
    }
  }
}

/** running = (1 − m)·running + m·batch, the variance's batch value unbiased (·n/(n − 1)), as torch's BatchNorm2d. */
export function batchNormUpdateRunning(runningMean: usize, runningVar: usize, mean: usize, variance: usize, C: i32, momentum: f32, count: f64): void {
  const unbias = <f32>(count / (count - 1));
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    store<f32>(runningMean + o, (1 - momentum) * load<f32>(runningMean + o) + momentum * load<f32>(mean + o));
    store<f32>(runningVar + o, (1 - momentum) * load<f32>(runningVar + o) + momentum * (load<f32>(variance + o) * unbias));
  }
}
