// out[n,f,i,j] = b[f] + Σ_{c,kh,kw} x[n, g·Cg + c, i·sh − pt + kh·dh, j·sw − pl + kw·dw] · w[f,c,kh,kw], g = ⌊f / Fg⌋.

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize, isPointwise } from "../geometry";
import { gemm4x8PackedAs } from "../gemm/gemm_4x8_packed_simd";
import { packRowPanels, packedRowPanelsBytes } from "../gemm/pack_panels";
import { gatherColumns, gatherPanel } from "./gather";
import { bandPaddedRows, padInputRows, paddedBytes, paddedWidth, writeTapOffsets } from "./padded";
import { copyTile, TILE_BYTES } from "./tile";
import { bandRowsFor, MIN_TASKS } from "./bands";

// The GEMM form. Prepared once per call (on the calling thread): W_g (Fg × K, K = Cg·KH·KW) of every
// group packed into 4-row panels, the groups' biases padded to whole panels, and the offset of each
// tap in a padded input plane. Then tasks, each a band of output rows of one image and group and a
// run of filter panels: the band's input rows are copied into a zero-padded buffer (this thread's,
// one band high: a whole image's copy per thread was 4× the output of a 224×224 layer), and for every
// 8 output pixels the K × 8 panel is gathered (im2col for just those pixels, L1-resident) and
// multiplied by each 4-filter panel. An output element is one micro-kernel call over all of K
// whatever the tasks are, so the result does not depend on how tasks are spread over threads.

/** Output pixels per task (about; see bands.ts) and 4-filter panels per task: sizes that keep tasks worth a thread. */
const TASK_PIXELS = 128;
const TASK_FILTER_PANELS = 16;

@inline function filterChunks(g: ConvGeometry): i32 {
  const panels = (groupOutChannels(g) + 3) >> 2;
  return (panels + TASK_FILTER_PANELS - 1) / TASK_FILTER_PANELS;
}

@inline function rowsPerTask(g: ConvGeometry): i32 {
  return bandRowsFor(g, TASK_PIXELS, g.batch * g.groups * filterChunks(g), MIN_TASKS);
}

/** Output rows of a task's band: its padded buffer's planes (and so the tap offsets) are bandPaddedRows of them. */
export function gemmForwardBandRows(g: ConvGeometry): i32 {
  return rowsPerTask(g);
}

/**
 * A pointwise layer reads x in place (no padded rows to copy), so its tasks are runs of whole 8-pixel
 * panels rather than whole rows: no task ends on a part-filled panel but the last.
 */
function pointwiseTaskPixels(g: ConvGeometry): i32 {
  const P = g.outHeight * g.outWidth;
  const byCount = <i32>min(<f64>TASK_PIXELS, Math.floor(<f64>g.batch * <f64>g.groups * <f64>filterChunks(g) * <f64>P / MIN_TASKS));
  return max(8, byCount & ~7);
}

/** Bands of output pixels per image and group: of whole rows, or of whole panels where the layer is pointwise. */
@inline function bandCount(g: ConvGeometry): i32 {
  const size = isPointwise(g) ? pointwiseTaskPixels(g) : rowsPerTask(g);
  const extent = isPointwise(g) ? g.outHeight * g.outWidth : g.outHeight;
  return (extent + size - 1) / size;
}

@inline function tapOffsetsBytes(g: ConvGeometry): usize {
  return <usize>((patchSize(g) + 3) & ~3) << 2;
}

@inline function biasBytes(g: ConvGeometry): usize {
  return <usize>((groupOutChannels(g) + 3) & ~3) << 2;
}

export function gemmForwardPreparedBytes(g: ConvGeometry): f64 {
  return <f64>tapOffsetsBytes(g) + <f64>g.groups * (<f64>biasBytes(g) + <f64>packedRowPanelsBytes(groupOutChannels(g), patchSize(g)));
}

export function gemmForwardWorkBytes(g: ConvGeometry): f64 {
  const K = patchSize(g);
  return <f64>K * 32 + <f64>TILE_BYTES + (isPointwise(g) ? 0 : paddedBytes(g, groupInChannels(g), bandPaddedRows(g, rowsPerTask(g))));
}

export function gemmForwardTasks(g: ConvGeometry): i32 {
  return g.batch * g.groups * bandCount(g) * filterChunks(g);
}

/** Where a group's packed weights and padded biases sit in the prepared data. */
@inline export function groupWeights(g: ConvGeometry, data: usize, group: i32): usize {
  return data + tapOffsetsBytes(g) + <usize>group * (biasBytes(g) + packedRowPanelsBytes(groupOutChannels(g), patchSize(g))) + biasBytes(g);
}

@inline export function groupBias(g: ConvGeometry, data: usize, group: i32): usize {
  return groupWeights(g, data, group) - biasBytes(g);
}

/** Tap offsets in a band's padded buffer; the caller then fills each group's weights (and biases) at groupWeights(). */
export function gemmForwardPrepareOffsets(g: ConvGeometry, data: usize): void {
  writeTapOffsets(g, groupInChannels(g), bandPaddedRows(g, rowsPerTask(g)) * paddedWidth(g), data);
}

/** Packs W and the biases (bias 0 = none: zeros) for the forward pass proper. */
export function gemmForwardPrepare(g: ConvGeometry, w: usize, bias: usize, data: usize): void {
  const Fg = groupOutChannels(g), K = patchSize(g);
  gemmForwardPrepareOffsets(g, data);
  for (let group = 0; group < g.groups; group++) {
    packRowPanels(Fg, K, w + (<usize>(group * Fg) * <usize>K << 2), K, 1, groupWeights(g, data, group));
    const b = groupBias(g, data, group);
    for (let f = 0; f < ((Fg + 3) & ~3); f++) {
      store<f32>(b + (<usize>f << 2), bias != 0 && f < Fg ? load<f32>(bias + (<usize>(group * Fg + f) << 2)) : 0);
    }
  }
}

/** Tasks [t0, t1) of the forward GEMM; work is gemmForwardWorkBytes of this thread's scratch. */
export function gemmForwardRun(g: ConvGeometry, data: usize, x: usize, out: usize, work: usize, t0: i32, t1: i32, form: i32): void {
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const outRowBytes = <usize>P << 2;
  const pointwise = isPointwise(g);
  const rows = rowsPerTask(g);
  const bufferRows = bandPaddedRows(g, rows);
  const runPixels = pointwiseTaskPixels(g);
  const bands = bandCount(g);
  const chunks = filterChunks(g);
  const panel = work;
  const tile = panel + (<usize>K << 5);
  const padded = tile + TILE_BYTES;
  for (let t = t0; t < t1; t++) {
    const chunk = t % chunks;
    let rest = t / chunks;
    const band = rest % bands;
    rest /= bands;
    const group = rest % g.groups;
    const n = rest / g.groups;
    const f0 = chunk * TASK_FILTER_PANELS * 4, f1 = min(Fg, f0 + TASK_FILTER_PANELS * 4);
    const xg = x + ((<usize>(n * g.inChannels + group * Cg) * inPlane) << 2);
    const og = out + (<usize>(n * g.outChannels + group * Fg) * <usize>P << 2);
    const packed = groupWeights(g, data, group);
    const biases = groupBias(g, data, group);
    let pixelStart = band * runPixels, pixelEnd = min(P, pixelStart + runPixels);
    let origin: usize = 0;
    if (!pointwise) {
      const oh0 = band * rows, oh1 = min(g.outHeight, oh0 + rows);
      origin = padInputRows(g, xg, Cg, padded, bufferRows, oh0 * g.strideHeight,
        (oh1 - 1) * g.strideHeight + (g.kernelHeight - 1) * g.dilationHeight + 1);
      pixelStart = oh0 * g.outWidth;
      pixelEnd = oh1 * g.outWidth;
    }
    for (let p0 = pixelStart; p0 < pixelEnd; p0 += 8) {
      const count = min(8, pixelEnd - p0);
      if (pointwise) gatherColumns(xg, Cg, P, p0, count, panel);
      else gatherPanel(g, origin, data, K, p0, count, panel);
      for (let f = f0; f < f1; f += 4) {
        const a = packed + (<usize>f * <usize>K << 2);
        const c = og + <usize>f * outRowBytes + (<usize>p0 << 2);
        const valid = min(4, Fg - f);
        if (valid == 4 && count == 8) {
          gemm4x8PackedAs(form, K, a, panel, c, outRowBytes, biases + (<usize>f << 2));
        } else {
          gemm4x8PackedAs(form, K, a, panel, tile, 32, biases + (<usize>f << 2));
          copyTile(tile, valid, count, c, outRowBytes);
        }
      }
    }
  }
}
