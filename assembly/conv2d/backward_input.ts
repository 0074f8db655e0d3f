// dx[n,c,h,w] = Σ_{f,kh,kw} dy[n,f,i,j]·w[f,c,kh,kw] over i·sh − pt + kh·dh = h and j·sw − pl + kw·dw = w.

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize, isPointwise } from "../geometry";
import { gemmNN } from "../gemm/gemm_nn_4x8_simd";
import { col2im } from "./col2im";

// Per image and group: dcol (K × P) = w_gᵀ (K × Fg) · dy_g (Fg × P), then col2im scatters dcol back
// through the same index map im2col gathered with, which is the stride-dilated, padding-cropped "full"
// correlation with the rotated filter written as an adjoint.
export function conv2dBackwardInput(geometry: usize, dy: usize, w: usize, dx: usize, scratch: usize): void {
  const g = changetype<ConvGeometry>(geometry);
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const pointwise = isPointwise(g);
  for (let n = 0; n < g.batch; n++) {
    for (let group = 0; group < g.groups; group++) {
      const dxg = dx + ((<usize>(n * g.inChannels + group * Cg) * inPlane) << 2);
      const dyg = dy + (<usize>(n * g.outChannels + group * Fg) * <usize>P << 2);
      const wg = w + (<usize>(group * Fg) * <usize>K << 2);
      if (pointwise) {
        gemmNN(K, P, Fg, wg, 1, K, dyg, P, dxg, P, false);
      } else {
        gemmNN(K, P, Fg, wg, 1, K, dyg, P, scratch, P, false);
        memory.fill(dxg, 0, <usize>Cg * inPlane << 2);
        col2im(g, scratch, Cg, dxg);
      }
    }
  }
}
