// out[n,f,i,j] = b[f] + Σ_{c,kh,kw} xp[n, g·Cg + c, i·sh + kh·dh, j + kw·dw] · w[f,c,kh,kw] as sliding windows over padded rows (stride 1 along a row).

import { ConvGeometry, groupInChannels, groupOutChannels, isPointwise, isThinDepthwise } from "../geometry";
import { gemmForwardBandRows, groupBias, groupWeights } from "./forward";
import { bandPaddedRows, padInputRows, paddedBytes, paddedWidth } from "./padded";
import { direct4x8 } from "./direct_4x8_simd";
import { bandRowsFor, MIN_TASKS } from "./bands";

// The direct form of the forward GEMM, on the same prepared data (forward.ts's packed 4-filter
// panels, biases and tap offsets, or dx_full.ts's rotated, transposed ones): where a layer has few
// channels, the GEMM's im2col gather (a copy of every tap's 8 pixels) is amortised over few filter
// panels and costs as much as the multiplies. Here the micro-kernel reads the 8 pixels under each tap
// straight from the padded rows. A task is a band of output rows of one image and group, all of its
// filters: the band's rows are padded once, then every 8-pixel tile of a row runs every filter panel
// while its window is in L1. A row of Wo ≥ 8 is covered by tiles at 0, 8, 16, … and a last one at
// Wo − 8, which overlaps the one before it: the overlapped outputs are computed twice in the same
// order, so they are written twice with the same bits, and no row has a tail.

/** Output pixels per task (about; see bands.ts): a LeNet 14×14 plane is one task, a 28×28 one 3. */
const TASK_PIXELS = 256;

/**
 * Whether the direct kernel computes this geometry (as a forward pass): stride 1 along rows, rows of at
 * least one 8-pixel tile, and not a layer another path owns (pointwise: x is its own im2col; thin
 * depthwise: plane sweeps).
 */
export function directApplies(g: ConvGeometry): bool {
  return g.strideWidth == 1 && g.outWidth >= 8 && !isPointwise(g) && !isThinDepthwise(g);
}

/**
 * Output rows per task: about TASK_PIXELS, but never more than the forward GEMM's bands, whose padded
 * plane height the prepared tap offsets were written for (gemmForwardPrepareOffsets).
 */
@inline function rowsPerTask(g: ConvGeometry): i32 {
  return min(gemmForwardBandRows(g), bandRowsFor(g, TASK_PIXELS, g.batch * g.groups, MIN_TASKS));
}

/** Padded rows of the work buffer's planes: those of the forward GEMM's band, as the tap offsets count them. */
@inline function bufferRows(g: ConvGeometry): i32 {
  return bandPaddedRows(g, gemmForwardBandRows(g));
}

@inline function bandCount(g: ConvGeometry): i32 {
  const rows = rowsPerTask(g);
  return (g.outHeight + rows - 1) / rows;
}

export function directTasks(g: ConvGeometry): i32 {
  return g.batch * g.groups * bandCount(g);
}

export function directWorkBytes(g: ConvGeometry): f64 {
  return paddedBytes(g, groupInChannels(g), bufferRows(g));
}

/** Tasks [t0, t1) over data prepared by gemmForwardPrepare (or dxFullPrepare); work is directWorkBytes. */
export function directRun(g: ConvGeometry, data: usize, x: usize, out: usize, work: usize, t0: i32, t1: i32): void {
  const Cg = groupInChannels(g), Fg = groupOutChannels(g);
  const Wo = g.outWidth, P = g.outHeight * Wo;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const outRowBytes = <usize>P << 2;
  const rows = rowsPerTask(g), bands = bandCount(g);
  const WP = paddedWidth(g);
  const windowRows = Cg * g.kernelHeight;
  const tapBytes = <usize>g.dilationWidth << 2;
  const panelBytes = <usize>(windowRows * g.kernelWidth) << 4;
  const planeRows = bufferRows(g);
  for (let t = t0; t < t1; t++) {
    const band = t % bands;
    const rest = t / bands;
    const group = rest % g.groups;
    const n = rest / g.groups;
    const xg = x + ((<usize>(n * g.inChannels + group * Cg) * inPlane) << 2);
    const og = out + (<usize>(n * g.outChannels + group * Fg) * <usize>P << 2);
    const packed = groupWeights(g, data, group);
    const biases = groupBias(g, data, group);
    const oh0 = band * rows, oh1 = min(g.outHeight, oh0 + rows);
    const origin = padInputRows(g, xg, Cg, work, planeRows, oh0 * g.strideHeight,
      (oh1 - 1) * g.strideHeight + (g.kernelHeight - 1) * g.dilationHeight + 1);
    for (let oh = oh0; oh < oh1; oh++) {
      const rowSrc = origin + (<usize>(oh * g.strideHeight * WP) << 2);
      const rowOut = og + (<usize>(oh * Wo) << 2);
      for (let ow = 0; ow < Wo; ow += 8) {
        const j = min(ow, Wo - 8);
        const src = rowSrc + (<usize>j << 2);
        const c = rowOut + (<usize>j << 2);
        for (let f = 0; f < Fg; f += 4) {
          direct4x8(windowRows, g.kernelWidth, tapBytes, data, packed + <usize>(f >> 2) * panelBytes, src,
            c + <usize>f * outRowBytes, outRowBytes, biases + (<usize>f << 2), min(4, Fg - f));
        }
      }
    }
  }
}

/** Whether shapePath sends a forward pass here (the rule and its measurements: see directPays). */
export function directForwardChosen(g: ConvGeometry): bool {
  return directApplies(g) && directPays(groupOutChannels(g), groupInChannels(g) * g.kernelHeight);
}

/**
 * Whether shapePath sends a full-correlation dx here (dxFullApplies(g) holds): the same test on the
 * forward over dy that dx_full.ts builds, read off g (dy's F channels in, C out, rows of W pixels).
 */
export function directDxChosen(g: ConvGeometry): bool {
  const pointwise = g.kernelHeight == 1 && g.kernelWidth == 1; // its full correlation is unpadded 1×1
  const thin = g.outChannels == g.groups && g.inChannels < 4 * g.groups;
  return !pointwise && !thin && g.inWidth >= 8 && directPays(groupInChannels(g), groupOutChannels(g) * g.kernelHeight);
}

/**
 * The crossover, measured with bench/ab.ts (fixed build, one thread; direct ÷ GEMM time) on the suite
 * and on extra layers at N 2–16: the GEMM gathers each tap's 8 pixels once for all filter panels, and
 * its 6 aligned loads per tap beat the direct kernel's 7 unaligned ones (some crossing a cache line),
 * so the gather pays once a layer has more than 4 panels. With at most 16 filters (forward form) direct
 * won: L1 0.83, L7 0.74, L8 0.92, C16→F16 3×3 0.87; dx forms L1 0.63, L8 0.72, C32→4 5×5 0.59,
 * C32→16 0.90, C16→16 3×3 0.80, L7 (one output channel) 0.90–1.0. With 32 filters it lost or tied
 * (C4→32 5×5 1.30, C32→32 3×3 1.13, C16→32 5×5 1.0) and more so with 48–128 (1.1–1.9: L2, L3, X1).
 * The window bound keeps a tile's 8-pixel window (2 cache lines per row of Cg·KH) within L1; the
 * largest measured was 160 rows.
 */
function directPays(filters: i32, windowRows: i32): bool {
  return filters <= 16 && windowRows <= 192;
}
