// dx[n,c,h,w] = Σ_{f,kh,kw} dy[n,f,i,j]·w[f,c,kh,kw] over i·sh − pt + kh·dh = h and j·sw − pl + kw·dw = w.

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize, isPointwise } from "../geometry";
import { gemm4x8Packed } from "../gemm/gemm_4x8_packed_simd";
import { packRowPanels, packedRowPanelsBytes } from "../gemm/pack_panels";
import { scatterTile } from "./scatter";
import { copyTile, TILE_BYTES } from "./tile";

// Per image and group: dcol (K × P) = w_gᵀ (K × Fg) · dy_g (Fg × P), a 4-tap × 8-pixel tile at a time,
// and each tile is scattered straight into dx through the index map gatherPanel reads with (col2im):
// the stride-dilated, padding-cropped "full" correlation with the rotated filter, as an adjoint.
// Pixels are the outer loop and taps ascend inside it, so every dx element adds its terms in one fixed
// order, whatever way the taps are split into panels (or, later, across threads by channel).
export function conv2dBackwardInput(geometry: usize, dy: usize, w: usize, dx: usize, scratch: usize): void {
  const g = changetype<ConvGeometry>(geometry);
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const planeBytes = <usize>P << 2;
  const pointwise = isPointwise(g);
  const packedA = scratch;
  const panel = packedA + packedRowPanelsBytes(K, Fg);
  const tile = panel + (<usize>Fg << 5);
  for (let group = 0; group < g.groups; group++) {
    // A[k, f] = w[f, k]: rows step one tap (stride 1), columns one filter (stride K).
    packRowPanels(K, Fg, w + (<usize>(group * Fg) * <usize>K << 2), 1, K, packedA);
    for (let n = 0; n < g.batch; n++) {
      const dxg = dx + ((<usize>(n * g.inChannels + group * Cg) * inPlane) << 2);
      const dyg = dy + (<usize>(n * g.outChannels + group * Fg) * <usize>P << 2);
      if (!pointwise) memory.fill(dxg, 0, <usize>Cg * inPlane << 2);
      for (let p0 = 0; p0 < P; p0 += 8) {
        const count = min(8, P - p0);
        packOutputPanel(dyg, Fg, planeBytes, p0, count, panel);
        for (let k0 = 0; k0 < K; k0 += 4) {
          const a = packedA + (<usize>k0 * <usize>Fg << 2);
          if (pointwise) {
            // 1×1 stride 1: tap k is channel k and pixel p is input pixel p, so the tile is dx itself.
            const c = dxg + <usize>k0 * planeBytes + (<usize>p0 << 2);
            const rows = min(4, K - k0);
            if (rows == 4 && count == 8) {
              gemm4x8Packed(Fg, a, panel, c, planeBytes, 0);
            } else {
              gemm4x8Packed(Fg, a, panel, tile, 32, 0);
              copyTile(tile, rows, count, c, planeBytes);
            }
          } else {
            gemm4x8Packed(Fg, a, panel, tile, 32, 0);
            scatterTile(g, tile, k0, min(K, k0 + 4), p0, count, dxg);
          }
        }
      }
    }
  }
}

// panel[f][l] = dy[f, p0 + l] for the group's Fg output channels; lanes past count are 0.
function packOutputPanel(dy: usize, channels: i32, planeBytes: usize, p0: i32, count: i32, panel: usize): void {
  let src = dy + (<usize>p0 << 2);
  if (count == 8) {
    for (let f = 0; f < channels; f++) {
      v128.store(panel, v128.load(src));
      v128.store(panel, v128.load(src, 16), 16);
      src += planeBytes;
      panel += 32;
    }
    return;
  }
  for (let f = 0; f < channels; f++) {
    for (let l = 0; l < 8; l++) store<f32>(panel + (<usize>l << 2), l < count ? load<f32>(src + (<usize>l << 2)) : 0);
    src += planeBytes;
    panel += 32;
  }
}

/** Scratch bytes of conv2dBackwardInput: packed w_gᵀ, one Fg × 8 panel of dy and a tile. */
export function backwardInputScratchBytes(g: ConvGeometry): f64 {
  const Fg = groupOutChannels(g), K = patchSize(g);
  return <f64>packedRowPanelsBytes(K, Fg) + <f64>Fg * 32 + <f64>TILE_BYTES;
}
