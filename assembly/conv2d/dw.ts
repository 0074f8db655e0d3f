// dw[f,c,kh,kw] (+)= Σ_{n,i,j} dy[n,f,i,j] · x[n, g·Cg + c, i·sh − pt + kh·dh, j·sw − pl + kw·dw].

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize, isPointwise } from "../geometry";
import { gemmNT } from "../gemm/gemm_nt_4x2_simd";
import { gatherRows } from "./gather";
import { MIN_TASKS } from "./bands";

/** Taps per task: 8 rows of im2col, reused by every 4-filter tile of the group. */
const TAP_BLOCK = 8;
/**
 * A pointwise layer gathers nothing (its im2col rows are x's planes), so its tasks take 16 taps: where
 * a dw row is whole 64-byte lines, each task then writes whole lines of it. With 8, two threads on
 * neighbouring blocks wrote the two halves of the same lines, row after row (L5 dw: 2–4 % slower).
 */
const POINTWISE_TAP_BLOCK = 16;

@inline function tapBlock(g: ConvGeometry): i32 {
  return isPointwise(g) ? POINTWISE_TAP_BLOCK : TAP_BLOCK;
}

@inline function tapBlocks(g: ConvGeometry): i32 {
  return (patchSize(g) + tapBlock(g) - 1) / tapBlock(g);
}

/**
 * Filters per task: all of the group's, or, in a pointwise layer whose tap blocks alone make fewer
 * than MIN_TASKS tasks, runs of a multiple of 4. A dw element is still summed by one task, in the same
 * order. Elsewhere every run would gather its im2col rows again (L6 dw: 6 % slower on one thread).
 */
@inline function filtersPerTask(g: ConvGeometry): i32 {
  const Fg = groupOutChannels(g);
  if (!isPointwise(g)) return Fg;
  const wanted = <i32>min(<f64>((Fg + 3) >> 2), Math.ceil(MIN_TASKS / (<f64>g.groups * <f64>tapBlocks(g))));
  return min(Fg, ((Fg + wanted - 1) / wanted + 3) & ~3);
}

@inline function filterRuns(g: ConvGeometry): i32 {
  return (groupOutChannels(g) + filtersPerTask(g) - 1) / filtersPerTask(g);
}
/**
 * Pixels per reduction chunk. Each chunk's partial dot products are summed into dw in a fixed order
 * (images, then chunks), so the bits depend on this constant and never on how tasks are spread.
 */
const PIXEL_CHUNK = 1024;

// A task is one block of 8 taps (16 where pointwise) of one group and run of its filters:
// dw_g[filters, taps] (+)= Σ_n Σ_chunks dy_g[filters, chunk] · col[taps, chunk]ᵀ, as dot products
// along the pixels (both operands read along their rows). The block's im2col rows are gathered just
// before use and stay in L1/L2. Every dw element is summed by exactly one task, in the same order,
// whatever the number of threads.
export function dwTasks(g: ConvGeometry): i32 {
  return g.groups * tapBlocks(g) * filterRuns(g);
}

export function dwWorkBytes(g: ConvGeometry): f64 {
  if (isPointwise(g)) return 0;
  return <f64>tapBlock(g) * <f64>min(PIXEL_CHUNK, g.outHeight * g.outWidth) * 4;
}

/** accumulate adds onto dw (a layer summing gradients over micro-batches); otherwise dw is overwritten. */
export function dwRun(g: ConvGeometry, dy: usize, x: usize, dw: usize, accumulate: bool, work: usize, t0: i32, t1: i32): void {
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const pointwise = isPointwise(g);
  const block = tapBlock(g), blocks = tapBlocks(g), runs = filterRuns(g), perRun = filtersPerTask(g);
  for (let t = t0; t < t1; t++) {
    // Runs of one tap block are neighbouring tasks: they write different rows of dw.
    const run = t % runs;
    const group = t / runs / blocks;
    const k0 = ((t / runs) % blocks) * block, k1 = min(K, k0 + block);
    const f0 = run * perRun, filters = min(Fg, f0 + perRun) - f0;
    const dwg = dw + (<usize>(group * Fg + f0) * <usize>K << 2);
    for (let n = 0; n < g.batch; n++) {
      const xg = x + ((<usize>(n * g.inChannels + group * Cg) * inPlane) << 2);
      const dyg = dy + (<usize>(n * g.outChannels + group * Fg + f0) * <usize>P << 2);
      for (let p0 = 0; p0 < P; p0 += PIXEL_CHUNK) {
        const count = min(PIXEL_CHUNK, P - p0);
        const add = accumulate || n > 0 || p0 > 0;
        if (pointwise) {
          // The im2col rows of a 1×1 stride-1 convolution are the input planes themselves.
          gemmNT(filters, k1 - k0, count, dyg + (<usize>p0 << 2), P, xg + ((<usize>k0 * <usize>P + <usize>p0) << 2), P,
            dwg + (<usize>k0 << 2), K, add);
        } else {
          gatherRows(g, xg, k0, k1, p0, count, work, <usize>count << 2);
          gemmNT(filters, k1 - k0, count, dyg + (<usize>p0 << 2), P, work, count, dwg + (<usize>k0 << 2), K, add);
        }
      }
    }
  }
}
