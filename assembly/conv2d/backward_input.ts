// dx[n,c,h,w] = Σ_{f,kh,kw} dy[n,f,i,j]·w[f,c,kh,kw] over i·sh − pt + kh·dh = h and j·sw − pl + kw·dw = w.

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize, isPointwise, isDepthwise } from "../geometry";
import { depthwiseBackwardInput, depthwiseScratchBytes } from "./depthwise";
import { gemm4x8Packed } from "../gemm/gemm_4x8_packed_simd";
import { packRowPanels, packTransposedRotated, packedRowPanelsBytes } from "../gemm/pack_panels";
import { forwardGroup, forwardGroupBytes } from "./forward";
import { cropInto, paddedBytes, paddedOrigin, writeTapOffsets, zeroFloats } from "./padded";
import { scatterTile } from "./scatter";
import { copyTile, TILE_BYTES } from "./tile";

// Two ways, one result. At stride 1 (padding at most the dilated kernel's span, finite weights) dx is
// the "full" correlation of dy, zero-padded by d·(K − 1) − p, with the rotated filter: a forward pass
// through the same gather and micro-kernel, with nothing scattered. Otherwise dcol = w_gᵀ · dy_g is
// computed a 4-tap × 8-pixel tile at a time and scattered straight into dx through the index map the
// forward gather reads with (col2im): the stride-dilated, padding-cropped correlation as an adjoint.
// A non-finite weight forces the scatter, which never multiplies a weight by a padding zero (0·∞ = NaN
// where the exact result is ±∞).
export function conv2dBackwardInput(geometry: usize, dy: usize, w: usize, dx: usize, scratch: usize): void {
  const g = changetype<ConvGeometry>(geometry);
  if (isDepthwise(g)) {
    depthwiseBackwardInput(g, dy, w, dx, scratch);
    return;
  }
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const sweepGeometry = transposedGeometry(g, scratch);
  const work = scratch + GEOMETRY_BYTES;
  for (let group = 0; group < g.groups; group++) {
    const wg = w + (<usize>(group * Fg) * <usize>K << 2);
    if (sweepGeometry != null) {
      // The sweep's patches run over the Fg channels of dy: Fg·KH·KW taps.
      const sweepTaps = Fg * g.kernelHeight * g.kernelWidth;
      const packed = work;
      if (packTransposedRotated(Fg, Cg, g.kernelHeight, g.kernelWidth, wg, packed)) {
        forwardGroup(sweepGeometry, group, dy, packed, 0, dx, packed + packedRowPanelsBytes(Cg, sweepTaps));
        continue;
      }
    }
    scatterGroup(g, group, dy, wg, dx, work);
  }
}

/** Bytes of the geometry block transposedGeometry writes. */
const GEOMETRY_BYTES: usize = 128;

/**
 * At stride 1, dx is a forward convolution: input dy (F channels, Ho × Wo), output dx (C channels,
 * H × W), weights transposed in (f, c) and rotated 180°, padding d·(K − 1) − p per side, same
 * dilation and groups. Writes that geometry at dst and returns it, or null where the rule does not
 * apply (a stride, padding wider than the dilated kernel, or 1×1 stride 1, which needs no sweep).
 */
function transposedGeometry(g: ConvGeometry, dst: usize): ConvGeometry | null {
  if (g.strideHeight != 1 || g.strideWidth != 1 || isPointwise(g)) return null;
  const spanH = g.dilationHeight * (g.kernelHeight - 1), spanW = g.dilationWidth * (g.kernelWidth - 1);
  const t = changetype<ConvGeometry>(dst);
  t.padTop = spanH - g.padTop;
  t.padBottom = spanH - g.padBottom;
  t.padLeft = spanW - g.padLeft;
  t.padRight = spanW - g.padRight;
  if (t.padTop < 0 || t.padBottom < 0 || t.padLeft < 0 || t.padRight < 0) return null;
  t.batch = g.batch;
  t.inChannels = g.outChannels;
  t.inHeight = g.outHeight;
  t.inWidth = g.outWidth;
  t.outChannels = g.inChannels;
  t.kernelHeight = g.kernelHeight;
  t.kernelWidth = g.kernelWidth;
  t.strideHeight = 1;
  t.strideWidth = 1;
  t.dilationHeight = g.dilationHeight;
  t.dilationWidth = g.dilationWidth;
  t.groups = g.groups;
  t.outHeight = g.inHeight;
  t.outWidth = g.inWidth;
  return t;
}

// The general adjoint: dcol tiles (4 taps × 8 pixels) of w_gᵀ · dy_g scattered into dx. Pixels are the
// outer loop and taps ascend inside it, so every dx element adds its terms in one fixed order,
// whatever way the taps are split into panels (or, later, across threads by channel).
function scatterGroup(g: ConvGeometry, group: i32, dy: usize, wg: usize, dx: usize, work: usize): void {
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const planeBytes = <usize>P << 2;
  const pointwise = isPointwise(g);
  const packedA = work;
  const panel = packedA + packedRowPanelsBytes(K, Fg);
  const tile = panel + (<usize>Fg << 5);
  const tapOffsets = tile + TILE_BYTES;
  const padded = tapOffsets + (<usize>((K + 3) & ~3) << 2);
  const paddedFloats = <i32>(paddedBytes(g, Cg) / 4);
  // A[k, f] = w[f, k]: rows step one tap (stride 1), columns one filter (stride K).
  packRowPanels(K, Fg, wg, 1, K, packedA);
  writeTapOffsets(g, Cg, tapOffsets);
  for (let n = 0; n < g.batch; n++) {
    const dxg = dx + ((<usize>(n * g.inChannels + group * Cg) * inPlane) << 2);
    const dyg = dy + (<usize>(n * g.outChannels + group * Fg) * <usize>P << 2);
    if (!pointwise) zeroFloats(padded, paddedFloats);
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
          scatterTile(g, tile, tapOffsets, k0, min(K, k0 + 4), p0, count, paddedOrigin(padded));
        }
      }
    }
    if (!pointwise) cropInto(g, padded, Cg, dxg);
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

/** Scratch bytes of conv2dBackwardInput: the geometry block, then the larger of the two ways' needs. */
export function backwardInputScratchBytes(g: ConvGeometry): f64 {
  if (isDepthwise(g)) return depthwiseScratchBytes(g);
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  let sweep: f64 = 0;
  const t = transposedGeometry(g, scratchGeometry);
  if (t != null) sweep = <f64>packedRowPanelsBytes(Cg, Fg * g.kernelHeight * g.kernelWidth) + forwardGroupBytes(t);
  const scatter = <f64>packedRowPanelsBytes(K, Fg) + <f64>Fg * 32 + <f64>TILE_BYTES + <f64>((K + 3) & ~3) * 4 + paddedBytes(g, Cg);
  return <f64>GEOMETRY_BYTES + max(sweep, scatter);
}

// A static block for transposedGeometry when only sizes are wanted (no scratch exists yet then).
const scratchGeometry: usize = memory.data(<i32>GEOMETRY_BYTES, 16);
