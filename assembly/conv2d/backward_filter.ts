// dw[f,c,kh,kw] (+)= Σ_{n,i,j} dy[n,f,i,j] · x[n, g·Cg + c, i·sh − pt + kh·dh, j·sw − pl + kw·dw].

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize, isPointwise, isThinDepthwise } from "../geometry";
import { depthwiseBackwardFilter, depthwiseScratchBytes } from "./depthwise";
import { gemmNT } from "../gemm/gemm_nt_4x2_simd";
import { gatherRows } from "./gather";
import { padInput, paddedBytes, paddedOrigin, writeTapOffsets } from "./padded";

/** Taps gathered at a time: 8 rows of im2col, reused by every 4-filter tile of the group. */
const TAP_BLOCK = 8;
/**
 * Pixels per reduction chunk. Each chunk's partial dot products are summed into dw in a fixed order,
 * so the bits depend on this constant and never on how the work is split.
 */
const PIXEL_CHUNK = 1024;

// Per group, image and chunk of output pixels: dw_g[:, taps] (+)= dy_g[:, chunk] · col[taps, chunk]ᵀ as
// dot products along the pixels (both operands read along their rows). The im2col rows of a block of
// taps are gathered just before use and stay in L1/L2; the whole im2col matrix never exists.
// accumulate adds onto dw (a layer summing gradients over micro-batches); otherwise dw is overwritten.
export function conv2dBackwardFilter(geometry: usize, dy: usize, x: usize, dw: usize, scratch: usize, accumulate: bool): void {
  const g = changetype<ConvGeometry>(geometry);
  if (isThinDepthwise(g)) {
    depthwiseBackwardFilter(g, dy, x, dw, scratch, accumulate);
    return;
  }
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const pointwise = isPointwise(g);
  const rows = scratch;
  const tapOffsets = rows + (<usize>(TAP_BLOCK * min(PIXEL_CHUNK, P)) << 2);
  const padded = tapOffsets + (<usize>((K + 3) & ~3) << 2);
  writeTapOffsets(g, Cg, tapOffsets);
  for (let group = 0; group < g.groups; group++) {
    const dwg = dw + (<usize>(group * Fg) * <usize>K << 2);
    for (let n = 0; n < g.batch; n++) {
      const xg = x + ((<usize>(n * g.inChannels + group * Cg) * inPlane) << 2);
      const dyg = dy + (<usize>(n * g.outChannels + group * Fg) * <usize>P << 2);
      if (!pointwise) padInput(g, xg, Cg, padded);
      for (let p0 = 0; p0 < P; p0 += PIXEL_CHUNK) {
        const count = min(PIXEL_CHUNK, P - p0);
        const add = accumulate || n > 0 || p0 > 0;
        for (let k0 = 0; k0 < K; k0 += TAP_BLOCK) {
          const k1 = min(K, k0 + TAP_BLOCK);
          if (pointwise) {
            // The im2col rows of a 1×1 stride-1 convolution are the input planes themselves.
            gemmNT(Fg, k1 - k0, count, dyg + (<usize>p0 << 2), P, xg + ((<usize>k0 * <usize>P + <usize>p0) << 2), P,
              dwg + (<usize>k0 << 2), K, add);
          } else {
            gatherRows(g, paddedOrigin(padded), tapOffsets, k0, k1, p0, count, rows, <usize>count << 2);
            gemmNT(Fg, k1 - k0, count, dyg + (<usize>p0 << 2), P, rows, count, dwg + (<usize>k0 << 2), K, add);
          }
        }
      }
    }
  }
}

/** Scratch bytes of conv2dBackwardFilter: one block of im2col rows, the tap offsets, one image's padded channels. */
export function backwardFilterScratchBytes(g: ConvGeometry): f64 {
  if (isThinDepthwise(g)) return depthwiseScratchBytes(g);
  if (isPointwise(g)) return 0;
  const K = patchSize(g);
  return <f64>TAP_BLOCK * <f64>min(PIXEL_CHUNK, g.outHeight * g.outWidth) * 4 + <f64>((K + 3) & ~3) * 4
    + paddedBytes(g, groupInChannels(g));
}
