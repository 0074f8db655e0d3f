// dw[f,c,kh,kw] (+)= Σ_{n,i,j} dy[n,f,i,j] · x[n, g·Cg + c, i·sh − pt + kh·dh, j·sw − pl + kw·dw].

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize, isPointwise } from "../geometry";
import { gemmNT } from "../gemm/gemm_nt_4x2_simd";
import { im2col } from "./im2col";

// Per group, summed over images: dw_g (Fg × K) = Σ_n dy_g (Fg × P) · col_nᵀ (P × K).
// accumulate adds onto dw (a layer summing gradients over micro-batches); otherwise dw is overwritten.
export function conv2dBackwardFilter(geometry: usize, dy: usize, x: usize, dw: usize, scratch: usize, accumulate: bool): void {
  const g = changetype<ConvGeometry>(geometry);
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const pointwise = isPointwise(g);
  for (let group = 0; group < g.groups; group++) {
    const dwg = dw + (<usize>(group * Fg) * <usize>K << 2);
    for (let n = 0; n < g.batch; n++) {
      const xg = x + ((<usize>(n * g.inChannels + group * Cg) * inPlane) << 2);
      const dyg = dy + (<usize>(n * g.outChannels + group * Fg) * <usize>P << 2);
      let col = scratch;
      if (pointwise) col = xg;
      else im2col(g, xg, Cg, scratch);
      gemmNT(Fg, K, P, dyg, P, col, P, dwg, K, accumulate || n > 0);
    }
  }
}

