// dw[f,c,kh,kw] (+)= Σ_{n,i,j} dy[n,f,i,j] · xp[n, g·Cg + c, i·sh + kh·dh, j + kw·dw] as 4-filter × 2-tap tiles swept over padded planes (stride 1 along a row).

import { ConvGeometry, groupInChannels, groupOutChannels, isPointwise, isThinDepthwise, patchSize } from "../geometry";
import { horizontalSum } from "../simd";
import { padInputRows, paddedBytes, paddedHeight, paddedOrigin, paddedWidth } from "./padded";
import { dwDirect4x2 } from "./dw_direct_4x2_simd";

// DW_GEMM gathers 8 im2col rows per 1,024-pixel chunk and takes 4 × 2 dot products of them with dy,
// reduced pairwise per chunk. With few filters its gathers (a copy of every tap's pixels) are shared
// by few dot products. Here each tile of 4 filters × 2 taps reads x straight from the padded planes
// and dy from its own rows, every loaded vector feeding 4 (x) or 2 (dy) multiply-adds. A task is one
// block of TASK_TAPS taps (in (c, kh, kw) order) of one group and 4-filter panel: for each image in
// order it pads the block's channels once and runs the block's tiles over it, their accumulators kept
// in the work block between images. A dw element is one lane sum per lane over (image, row, pixel)
// in that order, then the 4 lanes pairwise: the same order whatever the tasks are spread over.

/** Taps per task: 8 tiles of 2. LeNet's second layer (200 taps, 16 filters) makes 52 tasks. */
const TASK_TAPS = 16;
const ACC_BYTES: usize = 128; // a tile's 8 accumulators

@inline function tapBlocks(g: ConvGeometry): i32 {
  return (patchSize(g) + TASK_TAPS - 1) / TASK_TAPS;
}

@inline function filterPanels(g: ConvGeometry): i32 {
  return (groupOutChannels(g) + 3) >> 2;
}

/** Input channels a block of TASK_TAPS consecutive taps can touch. */
@inline function blockChannels(g: ConvGeometry): i32 {
  return min(groupInChannels(g), (TASK_TAPS - 1) / (g.kernelHeight * g.kernelWidth) + 2);
}

/** Whether this kernel computes the geometry's dw: stride 1 along rows of at least 4 outputs, not a layer another path owns. */
export function dwDirectApplies(g: ConvGeometry): bool {
  return g.strideWidth == 1 && g.outWidth >= 4 && !isPointwise(g) && !isThinDepthwise(g);
}

export function dwDirectTasks(g: ConvGeometry): i32 {
  return g.groups * filterPanels(g) * tapBlocks(g);
}

export function dwDirectWorkBytes(g: ConvGeometry): f64 {
  return <f64>(ACC_BYTES * (TASK_TAPS / 2)) + paddedBytes(g, blockChannels(g), paddedHeight(g));
}

/** accumulate adds onto dw (a layer summing gradients over micro-batches); otherwise dw is overwritten. */
export function dwDirectRun(g: ConvGeometry, dy: usize, x: usize, dw: usize, accumulate: bool, work: usize, t0: i32, t1: i32): void {
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const KK = g.kernelHeight * g.kernelWidth;
  const P = g.outHeight * g.outWidth;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const WP = paddedWidth(g);
  const planeFloats = paddedHeight(g) * WP;
  const xRowBytes = <usize>(g.strideHeight * WP) << 2;
  const blocks = tapBlocks(g), panels = filterPanels(g);
  const padded = work + ACC_BYTES * (TASK_TAPS / 2);
  const origin = paddedOrigin(padded);
  const padRows = (g.outHeight - 1) * g.strideHeight + (g.kernelHeight - 1) * g.dilationHeight + 1;
  for (let t = t0; t < t1; t++) {
    const block = t % blocks;
    const rest = t / blocks;
    const panel = rest % panels;
    const group = rest / panels;
    const k0 = block * TASK_TAPS, k1 = min(K, k0 + TASK_TAPS);
    const c0 = k0 / KK, c1 = (k1 - 1) / KK + 1;
    const f0 = panel * 4, valid = min(4, Fg - f0);
    const tiles = (k1 - k0 + 1) >> 1;
    for (let i = 0; i < tiles; i++) {
      const a = work + <usize>i * ACC_BYTES;
      const zero = f32x4.splat(0);
      for (let o: usize = 0; o < ACC_BYTES; o += 16) v128.store(a + o, zero);
    }
    for (let n = 0; n < g.batch; n++) {
      const xg = x + ((<usize>(n * g.inChannels + group * Cg + c0) * inPlane) << 2);
      padInputRows(g, xg, c1 - c0, padded, paddedHeight(g), 0, padRows);
      // A panel's missing filters read filter f0's rows again; their sums are never stored.
      const d = dy + (<usize>(n * g.outChannels + group * Fg + f0) * <usize>P << 2);
      const planeBytes = <usize>P << 2;
      const d1 = valid > 1 ? d + planeBytes : d, d2 = valid > 2 ? d + 2 * planeBytes : d, d3 = valid > 3 ? d + 3 * planeBytes : d;
      for (let i = 0; i < tiles; i++) {
        const ka = k0 + 2 * i, kb = min(ka + 1, k1 - 1); // an odd block's last tile runs its tap twice
        dwDirect4x2(work + <usize>i * ACC_BYTES, g.outHeight, g.outWidth,
          origin + (<usize>tapOffset(g, ka, c0, KK, planeFloats, WP) << 2), origin + (<usize>tapOffset(g, kb, c0, KK, planeFloats, WP) << 2),
          xRowBytes, d, d1, d2, d3);
      }
    }
    for (let i = 0; i < tiles; i++) {
      const a = work + <usize>i * ACC_BYTES;
      const ka = k0 + 2 * i;
      for (let f = 0; f < valid; f++) {
        const row = dw + (<usize>(group * Fg + f0 + f) * <usize>K << 2);
        for (let tap = 0; tap < 2 && ka + tap < k1; tap++) {
          const s = horizontalSum(v128.load(a + <usize>(2 * f + tap) * 16));
          const at = row + (<usize>(ka + tap) << 2);
          store<f32>(at, accumulate ? load<f32>(at) + s : s);
        }
      }
    }
  }
}

/** Offset in the padded block (its first plane channel c0) of tap k = (c, kh, kw) at output pixel (0, 0). */
@inline function tapOffset(g: ConvGeometry, k: i32, c0: i32, KK: i32, planeFloats: i32, WP: i32): i32 {
  const c = k / KK, r = k - c * KK;
  const kh = r / g.kernelWidth, kw = r - kh * g.kernelWidth;
  return (c - c0) * planeFloats + kh * g.dilationHeight * WP + kw * g.dilationWidth;
}

/**
 * Whether shapePath sends dw here. Measured with bench/ab.ts (one thread, direct ÷ GEMM time; a busy
 * machine, ±15 % between repeats of a cell): as in the forward (direct.ts), the GEMM's gathers pay
 * once many filters share them. With at most 16 filters on rows of 28–32 direct won: L7 0.28–0.65,
 * L1 0.38–1.06 (0.05 ms calls), C16→F16 3×3 0.71; on rows of 14 it only tied (L8 0.96–1.15 over six
 * runs, C32→F8 3×3 0.94: a row is 3 vectors and a masked one), so rows under 16 stay with the GEMM.
 * With 32 filters it won on rows of 28 (C32 3×3 0.82, C4 5×5 0.85) but lost on rows of 14 (1.58); with
 * 64 it lost (L2 1.33, X1 1.42).
 */
export function dwDirectChosen(g: ConvGeometry): bool {
  return dwDirectApplies(g) && groupOutChannels(g) <= 16 && g.outWidth >= 16;
}
