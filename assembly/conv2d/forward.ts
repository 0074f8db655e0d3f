// out[n,f,i,j] = b[f] + Σ_{c,kh,kw} x[n, g·Cg + c, i·sh − pt + kh·dh, j·sw − pl + kw·dw] · w[f,c,kh,kw], g = ⌊f / Fg⌋.

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize, isPointwise } from "../geometry";
import { gemmNN } from "../gemm/gemm_nn_4x8_simd";
import { im2col } from "./im2col";
import { broadcastBias } from "./bias";

// Per image and group: out_g (Fg × P) = w_g (Fg × K) · col (K × P), with P = Ho·Wo and K = Cg·KH·KW.
export function conv2dForward(geometry: usize, x: usize, w: usize, bias: usize, out: usize, scratch: usize): void {
  const g = changetype<ConvGeometry>(geometry);
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const pointwise = isPointwise(g);
  for (let n = 0; n < g.batch; n++) {
    for (let group = 0; group < g.groups; group++) {
      const xg = x + ((<usize>(n * g.inChannels + group * Cg) * inPlane) << 2);
      const og = out + (<usize>(n * g.outChannels + group * Fg) * <usize>P << 2);
      const wg = w + (<usize>(group * Fg) * <usize>K << 2);
      let col = scratch;
      if (pointwise) col = xg;
      else im2col(g, xg, Cg, scratch);
      if (bias != 0) broadcastBias(og, bias + (<usize>(group * Fg) << 2), Fg, P);
      gemmNN(Fg, P, K, wg, K, 1, col, P, og, P, bias != 0);
    }
  }
}
