// Float64 reference conv2d forward and backward, plain loops written from the definition (never from the kernels).

export interface ReferenceConfig {
  N: number; C: number; H: number; W: number;
  F: number; KH: number; KW: number;
  strideH: number; strideW: number;
  padTop: number; padBottom: number; padLeft: number; padRight: number;
  dilationH: number; dilationW: number;
  groups: number;
}

export interface ReferenceResult {
  out: Float64Array;
  dx: Float64Array;
  dw: Float64Array;
  db: Float64Array;
  outHeight: number;
  outWidth: number;
}

/**
 * The definition on the zero-padded input xp (N, C, H + pt + pb, W + pl + pr):
 * out[n,f,i,j] = b[f] + Σ_{c',kh,kw} xp[n, c, i·sh + kh·dh, j·sw + kw·dw] · w[f,c',kh,kw],
 * c = group(f)·C/groups + c'. Backward by the chain rule on the same loop nest: each tap sends dy·w to
 * dxp and dy·xp to dw; dx is dxp without its border; db sums dy. The padding zeros take part in the
 * products, so IEEE specials meet them as the maths says (NaN·0 = NaN, ∞·0 = NaN).
 */
export function referenceConv2d(
  cfg: ReferenceConfig, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, dy?: ArrayLike<number>,
): ReferenceResult {
  const { N, C, H, W, F, KH, KW, strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW, groups } = cfg;
  const HP = H + padTop + padBottom, WP = W + padLeft + padRight;
  const outHeight = Math.floor((HP - dilationH * (KH - 1) - 1) / strideH) + 1;
  const outWidth = Math.floor((WP - dilationW * (KW - 1) - 1) / strideW) + 1;
  const Cg = C / groups, Fg = F / groups;
  const xp = new Float64Array(N * C * HP * WP);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let col = 0; col < W; col++) {
    xp[((n * C + c) * HP + h + padTop) * WP + col + padLeft] = x[((n * C + c) * H + h) * W + col]!;
  }
  const out = new Float64Array(N * F * outHeight * outWidth);
  const dxp = new Float64Array(N * C * HP * WP);
  const dw = new Float64Array(F * Cg * KH * KW);
  const db = new Float64Array(F);
  for (let n = 0; n < N; n++) {
    for (let f = 0; f < F; f++) {
      const group = Math.floor(f / Fg);
      for (let i = 0; i < outHeight; i++) {
        for (let j = 0; j < outWidth; j++) {
          const o = ((n * F + f) * outHeight + i) * outWidth + j;
          let sum = b ? b[f]! : 0;
          const g = dy ? dy[o]! : 0;
          db[f] = db[f]! + g;
          for (let cg = 0; cg < Cg; cg++) {
            const c = group * Cg + cg;
            for (let kh = 0; kh < KH; kh++) {
              for (let kw = 0; kw < KW; kw++) {
                const xi = ((n * C + c) * HP + i * strideH + kh * dilationH) * WP + j * strideW + kw * dilationW;
                const wi = ((f * Cg + cg) * KH + kh) * KW + kw;
                sum += xp[xi]! * w[wi]!;
                dxp[xi] = dxp[xi]! + g * w[wi]!;
                dw[wi] = dw[wi]! + g * xp[xi]!;
              }
            }
          }
          out[o] = sum;
        }
      }
    }
  }
  const dx = new Float64Array(N * C * H * W);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let col = 0; col < W; col++) {
    dx[((n * C + c) * H + h) * W + col] = dxp[((n * C + c) * HP + h + padTop) * WP + col + padLeft]!;
  }
  return { out, dx, dw, db, outHeight, outWidth };
}

/**
 * Float32 tolerance for comparing a kernel result a with the float64 reference e: a sum of up to
 * 9·5·5 = 225 products of values in [-1, 1] carries about √225 · 2⁻²⁴ · |terms| of rounding, far below
 * 1e-4 absolute; large results are judged relatively. |a − e| ≤ 1e-4 or |a − e| / (|a| + |e|) ≤ 1e-4.
 */
export function closeEnough(a: number, e: number): boolean {
  if (Number.isNaN(e)) return Number.isNaN(a);
  if (!Number.isFinite(e)) return a === e;
  const diff = Math.abs(a - e);
  return diff <= 1e-4 || diff / (Math.abs(a) + Math.abs(e)) <= 1e-4;
}

/** Index and values of the first mismatch, or null. */
export function firstMismatch(actual: ArrayLike<number>, expected: ArrayLike<number>): string | null {
  if (actual.length !== expected.length) return `length ${actual.length} ≠ ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    if (!closeEnough(actual[i]!, expected[i]!)) return `index ${i}: got ${actual[i]}, expected ${expected[i]}`;
  }
  return null;
}

/** TensorFlow's SAME padding, restated here from its definition: out = ⌈in / s⌉, the odd pixel after. */
export function samePadding(size: number, stride: number, kernel: number, dilation: number): [number, number] {
  const effective = dilation * (kernel - 1) + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + effective - size);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}
