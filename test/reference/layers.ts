// Float64 references for the layers of issue 12 (activations, MSE, pooling, batch norm), plain loops written from PyTorch's definitions (never from the kernels).

/** Elementwise f and f' (the derivative, in x) into y and dx = dy·f'(x). */
function elementwise(x: ArrayLike<number>, dy: ArrayLike<number>, f: (v: number) => number, d: (v: number) => number) {
  const y = Float64Array.from(x, f);
  const dx = Float64Array.from(x, (v, i) => dy[i]! * d(v));
  return { y, dx };
}

export const referenceSigmoid = (x: ArrayLike<number>, dy: ArrayLike<number>) => {
  const s = (v: number) => 1 / (1 + Math.exp(-v));
  return elementwise(x, dy, s, (v) => s(v) * (1 - s(v)));
};

export const referenceTanh = (x: ArrayLike<number>, dy: ArrayLike<number>) => elementwise(x, dy, Math.tanh, (v) => 1 - Math.tanh(v) ** 2);

/** PyTorch's leaky_relu and its backward: the slope's gradient at x ≤ 0 (0 included). */
export const referenceLeakyRelu = (x: ArrayLike<number>, dy: ArrayLike<number>, slope: number) =>
  elementwise(x, dy, (v) => (v > 0 ? v : v * slope), (v) => (v > 0 ? 1 : slope));

/** L = mean((p − t)²); dL/dp = 2(p − t)/n. */
export function referenceMse(p: ArrayLike<number>, t: ArrayLike<number>): { loss: number; grad: Float64Array } {
  const n = p.length;
  let sum = 0;
  const grad = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const d = p[i]! - t[i]!;
    sum += d * d;
    grad[i] = (2 * d) / n;
  }
  return { loss: sum / n, grad };
}

export interface PoolConfig {
  planes: number; H: number; W: number; KH: number; KW: number; sH: number; sW: number; pH: number; pW: number;
  dH: number; dW: number; ceil: boolean; countIncludePad: boolean;
}

/** PyTorch's pooling_output_shape. */
export function poolOutputSize(size: number, k: number, p: number, s: number, d: number, ceil: boolean): number {
  let out = Math.floor((size + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0)) / s) + 1;
  if (ceil && (out - 1) * s >= size + p) out--;
  return out;
}

/**
 * max_pool2d as PyTorch's CPU kernel writes it: for each window, clipped to the input, scan rows then
 * columns; a value replaces the best when it is greater or NaN (the first maximum wins ties, the last NaN wins); backward
 * adds dy at the chosen index.
 */
export function referenceMaxPool2d(c: PoolConfig, x: ArrayLike<number>, dy: ArrayLike<number>) {
  const outH = poolOutputSize(c.H, c.KH, c.pH, c.sH, c.dH, c.ceil), outW = poolOutputSize(c.W, c.KW, c.pW, c.sW, c.dW, c.ceil);
  const y = new Float64Array(c.planes * outH * outW), dx = new Float64Array(c.planes * c.H * c.W);
  for (let p = 0; p < c.planes; p++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let best = -Infinity, at = -1;
        for (let kh = 0; kh < c.KH; kh++) {
          const ih = oh * c.sH - c.pH + kh * c.dH;
          if (ih < 0 || ih >= c.H) continue;
          for (let kw = 0; kw < c.KW; kw++) {
            const iw = ow * c.sW - c.pW + kw * c.dW;
            if (iw < 0 || iw >= c.W) continue;
            const v = x[(p * c.H + ih) * c.W + iw]!;
            if (at < 0 || v > best || Number.isNaN(v)) {
              best = v;
              at = (p * c.H + ih) * c.W + iw;
            }
          }
        }
        const o = (p * outH + oh) * outW + ow;
        y[o] = best;
        dx[at] = dx[at]! + dy[o]!;
      }
    }
  }
  return { y, dx, outH, outW };
}

/** avg_pool2d as PyTorch's CPU kernel writes it: the window clipped to the padded input for the divisor (all of it with count_include_pad), to the input for the sum. */
export function referenceAvgPool2d(c: PoolConfig, x: ArrayLike<number>, dy: ArrayLike<number>) {
  const outH = poolOutputSize(c.H, c.KH, c.pH, c.sH, 1, c.ceil), outW = poolOutputSize(c.W, c.KW, c.pW, c.sW, 1, c.ceil);
  const y = new Float64Array(c.planes * outH * outW), dx = new Float64Array(c.planes * c.H * c.W);
  for (let p = 0; p < c.planes; p++) {
    for (let oh = 0; oh < outH; oh++) {
      for (let ow = 0; ow < outW; ow++) {
        let h0 = oh * c.sH - c.pH, w0 = ow * c.sW - c.pW;
        let h1 = Math.min(h0 + c.KH, c.H + c.pH), w1 = Math.min(w0 + c.KW, c.W + c.pW);
        const padded = (h1 - h0) * (w1 - w0);
        h0 = Math.max(h0, 0); w0 = Math.max(w0, 0); h1 = Math.min(h1, c.H); w1 = Math.min(w1, c.W);
        const divisor = c.countIncludePad ? padded : (h1 - h0) * (w1 - w0);
        const o = (p * outH + oh) * outW + ow;
        let sum = 0;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) sum += x[(p * c.H + ih) * c.W + iw]!;
        y[o] = sum / divisor;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) { const k = (p * c.H + ih) * c.W + iw; dx[k] = dx[k]! + dy[o]! / divisor; }
      }
    }
  }
  return { y, dx, outH, outW };
}

/** adaptive_avg_pool2d: output i averages [⌊i·H/Ho⌋, ⌈(i + 1)·H/Ho⌉), likewise columns. */
export function referenceAdaptiveAvgPool2d(planes: number, H: number, W: number, outH: number, outW: number, x: ArrayLike<number>, dy: ArrayLike<number>) {
  const y = new Float64Array(planes * outH * outW), dx = new Float64Array(planes * H * W);
  for (let p = 0; p < planes; p++) {
    for (let oh = 0; oh < outH; oh++) {
      const h0 = Math.floor((oh * H) / outH), h1 = Math.ceil(((oh + 1) * H) / outH);
      for (let ow = 0; ow < outW; ow++) {
        const w0 = Math.floor((ow * W) / outW), w1 = Math.ceil(((ow + 1) * W) / outW);
        const count = (h1 - h0) * (w1 - w0), o = (p * outH + oh) * outW + ow;
        let sum = 0;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) sum += x[(p * H + h) * W + w]!;
        y[o] = sum / count;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) { const k = (p * H + h) * W + w; dx[k] = dx[k]! + dy[o]! / count; }
      }
    }
  }
  return { y, dx };
}

/**
 * BatchNorm2d on x [N, C, H, W]: with batch statistics (training), μ and the biased σ² over N·H·W,
 * x̂ = (x − μ)/√(σ² + ε), y = γx̂ + β, and the exact backward through μ and σ² (derived by the chain
 * rule on these loops, per channel: dx̂ = dy·γ, dσ² = Σ dx̂·(x − μ)·(−½)(σ² + ε)^(−3/2),
 * dμ = Σ −dx̂/√(σ² + ε) + dσ²·Σ −2(x − μ)/n, dx = dx̂/√(σ² + ε) + dσ²·2(x − μ)/n + dμ/n); with given
 * statistics (evaluation), x̂ uses them and dx = dy·γ/√(σ² + ε). Also the running update with the
 * unbiased variance.
 */
export function referenceBatchNorm(
  x: ArrayLike<number>, dy: ArrayLike<number>, N: number, C: number, plane: number, gamma: ArrayLike<number>, beta: ArrayLike<number>,
  eps: number, fixed: { mean: ArrayLike<number>; variance: ArrayLike<number> } | null,
) {
  const n = N * plane;
  const y = new Float64Array(x.length), dx = new Float64Array(x.length);
  const dGamma = new Float64Array(C), dBeta = new Float64Array(C), mean = new Float64Array(C), variance = new Float64Array(C);
  const at = (i: number, c: number, j: number) => (i * C + c) * plane + j;
  for (let c = 0; c < C; c++) {
    let mu = 0, v = 0;
    if (fixed) {
      mu = fixed.mean[c]!;
      v = fixed.variance[c]!;
    } else {
      for (let i = 0; i < N; i++) for (let j = 0; j < plane; j++) mu += x[at(i, c, j)]!;
      mu /= n;
      for (let i = 0; i < N; i++) for (let j = 0; j < plane; j++) v += (x[at(i, c, j)]! - mu) ** 2;
      v /= n;
    }
    mean[c] = mu;
    variance[c] = v;
    const inv = 1 / Math.sqrt(v + eps);
    let dVar = 0, dMean = 0, sumCentered = 0;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < plane; j++) {
        const k = at(i, c, j), xhat = (x[k]! - mu) * inv;
        y[k] = gamma[c]! * xhat + beta[c]!;
        dGamma[c] = dGamma[c]! + dy[k]! * xhat;
        dBeta[c] = dBeta[c]! + dy[k]!;
        const dxhat = dy[k]! * gamma[c]!;
        dVar += dxhat * (x[k]! - mu) * -0.5 * inv ** 3;
        dMean += -dxhat * inv;
        sumCentered += -2 * (x[k]! - mu);
      }
    }
    dMean += (dVar * sumCentered) / n;
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < plane; j++) {
        const k = at(i, c, j);
        const dxhat = dy[k]! * gamma[c]!;
        dx[k] = fixed ? dxhat * inv : dxhat * inv + (dVar * 2 * (x[k]! - mu)) / n + dMean / n;
      }
    }
  }
  return { y, dx, dGamma, dBeta, mean, variance, unbiased: Float64Array.from(variance, (v) => (v * n) / (n - 1)) };
}
