// Float64 references for the training layers and optimisers, plain loops written from the definitions (never from the kernels).

/** y = max(x, 0); dx = dy where x > 0, else 0 (PyTorch's gradient at 0 is 0). */
export function referenceRelu(x: ArrayLike<number>, dy?: ArrayLike<number>): { y: Float64Array; dx: Float64Array } {
  const y = new Float64Array(x.length), dx = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    y[i] = Number.isNaN(x[i]!) ? NaN : Math.max(x[i]!, 0);
    dx[i] = x[i]! > 0 && dy ? dy[i]! : 0;
  }
  return { y, dx };
}

/**
 * 2×2 windows, stride 2, floor mode, on (planes, H, W). PyTorch's scan: row by row, a value replaces
 * the best when it is greater or NaN; dy goes to the chosen position, everything else in dx is 0.
 */
export function referenceMaxPool(
  x: ArrayLike<number>, planes: number, H: number, W: number, dy?: ArrayLike<number>,
): { y: Float64Array; dx: Float64Array } {
  const Ho = Math.floor(H / 2), Wo = Math.floor(W / 2);
  const y = new Float64Array(planes * Ho * Wo), dx = new Float64Array(planes * H * W);
  for (let p = 0; p < planes; p++) {
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        let best = -Infinity, at = p * H * W + 2 * i * W + 2 * j;
        for (let r = 0; r < 2; r++) {
          for (let c = 0; c < 2; c++) {
            const index = p * H * W + (2 * i + r) * W + 2 * j + c;
            const v = x[index]!;
            if (v > best || Number.isNaN(v)) { best = v; at = index; }
          }
        }
        const o = (p * Ho + i) * Wo + j;
        y[o] = best;
        if (dy) dx[at] = dx[at]! + dy[o]!;
      }
    }
  }
  return { y, dx };
}

/** y[n,o] = b[o] + Σ_k x[n,k]·w[o,k]; dx[n,k] = Σ_o dy[n,o]·w[o,k]; dw[o,k] = Σ_n dy[n,o]·x[n,k]; db[o] = Σ_n dy[n,o]. */
export function referenceLinear(
  x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, N: number, inF: number, outF: number, dy?: ArrayLike<number>,
): { y: Float64Array; dx: Float64Array; dw: Float64Array; db: Float64Array } {
  const y = new Float64Array(N * outF), dx = new Float64Array(N * inF), dw = new Float64Array(outF * inF), db = new Float64Array(outF);
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < outF; o++) {
      let sum = b ? b[o]! : 0;
      const g = dy ? dy[n * outF + o]! : 0;
      db[o] = db[o]! + g;
      for (let k = 0; k < inF; k++) {
        sum += x[n * inF + k]! * w[o * inF + k]!;
        dx[n * inF + k] = dx[n * inF + k]! + g * w[o * inF + k]!;
        dw[o * inF + k] = dw[o * inF + k]! + g * x[n * inF + k]!;
      }
      y[n * outF + o] = sum;
    }
  }
  return { y, dx, dw, db };
}

/** L = (1/N) Σ_n −log(e^{z[n,y_n]} / Σ_k e^{z[n,k]}); dL/dz = (softmax − one-hot)/N. */
export function referenceSoftmaxCrossEntropy(
  z: ArrayLike<number>, labels: ArrayLike<number>, N: number, K: number,
): { loss: number; grad: Float64Array } {
  const grad = new Float64Array(N * K);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, z[n * K + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(z[n * K + k]! - max);
    loss += Math.log(sum) + max - z[n * K + labels[n]!]!;
    for (let k = 0; k < K; k++) grad[n * K + k] = (Math.exp(z[n * K + k]! - max) / sum - (k === labels[n] ? 1 : 0)) / N;
  }
  return { loss: loss / N, grad };
}

/** Rows whose first largest value sits at the label. */
export function referenceCountCorrect(z: ArrayLike<number>, labels: ArrayLike<number>, N: number, K: number): number {
  let correct = 0;
  for (let n = 0; n < N; n++) {
    let best = 0;
    for (let k = 1; k < K; k++) if (z[n * K + k]! > z[n * K + best]!) best = k;
    if (best === labels[n]) correct++;
  }
  return correct;
}

/** torch.optim.SGD, one step: g = grad + λp; v = μv + g (v₀ = 0, so v₁ = g); p −= lr·v. */
export function referenceSgdStep(
  p: Float64Array, grad: ArrayLike<number>, v: Float64Array, lr: number, momentum: number, weightDecay: number,
): void {
  for (let i = 0; i < p.length; i++) {
    const g = grad[i]! + weightDecay * p[i]!;
    v[i] = momentum * v[i]! + g;
    p[i] = p[i]! - lr * (momentum === 0 ? g : v[i]!);
  }
}

/** torch.optim.Adam, step t ≥ 1: m, v moving averages of g and g²; p −= lr·m̂ / (√v̂ + ε) with PyTorch's placement of ε. */
export function referenceAdamStep(
  p: Float64Array, grad: ArrayLike<number>, m: Float64Array, v: Float64Array, t: number,
  lr: number, beta1: number, beta2: number, eps: number, weightDecay: number,
): void {
  for (let i = 0; i < p.length; i++) {
    const g = grad[i]! + weightDecay * p[i]!;
    m[i] = beta1 * m[i]! + (1 - beta1) * g;
    v[i] = beta2 * v[i]! + (1 - beta2) * g * g;
    const mHat = m[i]! / (1 - beta1 ** t);
    const vHatRoot = Math.sqrt(v[i]!) / Math.sqrt(1 - beta2 ** t);
    p[i] = p[i]! - lr * mHat / (vHatRoot + eps);
  }
}
