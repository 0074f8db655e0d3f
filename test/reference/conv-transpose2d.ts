// Float64 reference transposed convolution forward and backward, plain loops written from its definition (never from conv2d's kernels or reference).

export interface TransposedConfig {
  N: number; Cin: number; H: number; W: number; Cout: number; KH: number; KW: number;
  strideH: number; strideW: number;
  padTop: number; padBottom: number; padLeft: number; padRight: number;
  outputPadH: number; outputPadW: number;
  dilationH: number; dilationW: number;
  groups: number;
}

export interface TransposedResult {
  out: Float64Array;
  dx: Float64Array;
  dw: Float64Array;
  db: Float64Array;
  outHeight: number;
  outWidth: number;
}

/**
 * The definition (torch.nn.functional.conv_transpose2d): every input element scatters its products
 * into the output, y[n, co, i·sh − pt + kh·dh, j·sw − pl + kw·dw] += x[n, ci, i, j] · w[ci, co', kh, kw]
 * for the channels ci of group g and co = g·Cout/G + co', positions outside [0, Ho) × [0, Wo) dropped;
 * y starts at b. Ho = (H − 1)·sh − pt − pb + dh·(KH − 1) + oph + 1. Backward by the chain rule on the same
 * loop nest: dx gathers dy·w along those positions, dw sums x·dy, db sums dy.
 */
export function referenceConvTranspose2d(
  cfg: TransposedConfig, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number> | null, dy?: ArrayLike<number>,
): TransposedResult {
  const { N, Cin, H, W, Cout, KH, KW, strideH, strideW, padTop, padBottom, padLeft, padRight, dilationH, dilationW, groups } = cfg;
  const outHeight = (H - 1) * strideH - padTop - padBottom + dilationH * (KH - 1) + cfg.outputPadH + 1;
  const outWidth = (W - 1) * strideW - padLeft - padRight + dilationW * (KW - 1) + cfg.outputPadW + 1;
  const CinG = Cin / groups, CoutG = Cout / groups;
  const out = new Float64Array(N * Cout * outHeight * outWidth);
  const dx = new Float64Array(N * Cin * H * W);
  const dw = new Float64Array(Cin * CoutG * KH * KW);
  const db = new Float64Array(Cout);
  for (let n = 0; n < N; n++) {
    for (let co = 0; co < Cout; co++) {
      for (let p = 0; p < outHeight * outWidth; p++) {
        const o = (n * Cout + co) * outHeight * outWidth + p;
        out[o] = b ? b[co]! : 0;
        if (dy) db[co] = db[co]! + dy[o]!;
      }
    }
    for (let ci = 0; ci < Cin; ci++) {
      const group = Math.floor(ci / CinG);
      for (let i = 0; i < H; i++) {
        for (let j = 0; j < W; j++) {
          const xi = ((n * Cin + ci) * H + i) * W + j;
          for (let cog = 0; cog < CoutG; cog++) {
            const co = group * CoutG + cog;
            for (let kh = 0; kh < KH; kh++) {
              const oh = i * strideH - padTop + kh * dilationH;
              if (oh < 0 || oh >= outHeight) continue;
              for (let kw = 0; kw < KW; kw++) {
                const ow = j * strideW - padLeft + kw * dilationW;
                if (ow < 0 || ow >= outWidth) continue;
                const o = ((n * Cout + co) * outHeight + oh) * outWidth + ow;
                const wi = ((ci * CoutG + cog) * KH + kh) * KW + kw;
                out[o] = out[o]! + x[xi]! * w[wi]!;
                if (dy) {
                  dx[xi] = dx[xi]! + dy[o]! * w[wi]!;
                  dw[wi] = dw[wi]! + x[xi]! * dy[o]!;
                }
              }
            }
          }
        }
      }
    }
  }
  return { out, dx, dw, db, outHeight, outWidth };
}
