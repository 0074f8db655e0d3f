// dw[f,c,kh,kw] (+)= Σ_{n,i,j} dy[n,f,i,j] · x[n, g·Cg + c, i·sh − pt + kh·dh, j·sw − pl + kw·dw].

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize, isPointwise } from "../geometry";
import { gemmNT } from "../gemm/gemm_nt_4x2_simd";
import { gatherRows } from "./gather";

/** Taps per task: 8 rows of im2col, reused by every 4-filter tile of the group. */
const TAP_BLOCK = 8;
/**
 * Pixels per reduction chunk. Each chunk's partial dot products are summed into dw in a fixed order
 * (images, then chunks), so the bits depend on this constant and never on how tasks are spread.
 */
const PIXEL_CHUNK = 1024;

// A task is one block of 8 taps of one group: dw_g[:, taps] (+)= Σ_n Σ_chunks dy_g[:, chunk] ·
// col[taps, chunk]ᵀ, as dot products along the pixels (both operands read along their rows). The
// block's im2col rows are gathered just before use and stay in L1/L2. Every dw element is summed by
// exactly one task, in the same order, whatever the number of threads.
export function gemmFilterTasks(g: ConvGeometry): i32 {
  return g.groups * ((patchSize(g) + TAP_BLOCK - 1) / TAP_BLOCK);
}

export function gemmFilterWorkBytes(g: ConvGeometry): f64 {
  if (isPointwise(g)) return 0;
  return <f64>TAP_BLOCK * <f64>min(PIXEL_CHUNK, g.outHeight * g.outWidth) * 4;
}

/** accumulate adds onto dw (a layer summing gradients over micro-batches); otherwise dw is overwritten. */
export function gemmFilterRun(g: ConvGeometry, dy: usize, x: usize, dw: usize, accumulate: bool, work: usize, t0: i32, t1: i32): void {
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const pointwise = isPointwise(g);
  const blocks = (K + TAP_BLOCK - 1) / TAP_BLOCK;
  for (let t = t0; t < t1; t++) {
    const group = t / blocks;
    const k0 = (t % blocks) * TAP_BLOCK, k1 = min(K, k0 + TAP_BLOCK);
    const dwg = dw + (<usize>(group * Fg) * <usize>K << 2);
    for (let n = 0; n < g.batch; n++) {
      const xg = x + ((<usize>(n * g.inChannels + group * Cg) * inPlane) << 2);
      const dyg = dy + (<usize>(n * g.outChannels + group * Fg) * <usize>P << 2);
      for (let p0 = 0; p0 < P; p0 += PIXEL_CHUNK) {
        const count = min(PIXEL_CHUNK, P - p0);
        const add = accumulate || n > 0 || p0 > 0;
        if (pointwise) {
          // The im2col rows of a 1×1 stride-1 convolution are the input planes themselves.
          gemmNT(Fg, k1 - k0, count, dyg + (<usize>p0 << 2), P, xg + ((<usize>k0 * <usize>P + <usize>p0) << 2), P,
            dwg + (<usize>k0 << 2), K, add);
        } else {
          gatherRows(g, xg, k0, k1, p0, count, work, <usize>count << 2);
          gemmNT(Fg, k1 - k0, count, dyg + (<usize>p0 << 2), P, work, count, dwg + (<usize>k0 << 2), K, add);
        }
      }
    }
  }
}
