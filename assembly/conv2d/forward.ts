// out[n,f,i,j] = b[f] + Σ_{c,kh,kw} x[n, g·Cg + c, i·sh − pt + kh·dh, j·sw − pl + kw·dw] · w[f,c,kh,kw], g = ⌊f / Fg⌋.

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize, isThinDepthwise, isPointwise } from "../geometry";
import { depthwiseForward, depthwiseScratchBytes } from "./depthwise";
import { gemm4x8Packed } from "../gemm/gemm_4x8_packed_simd";
import { packRowPanels, packedRowPanelsBytes } from "../gemm/pack_panels";
import { gatherPanel, gatherPointwisePanel } from "./gather";
import { padInput, paddedBytes, paddedOrigin, writeTapOffsets } from "./padded";
import { copyTile, TILE_BYTES } from "./tile";

// Per group, W_g (Fg × K, K = Cg·KH·KW) is packed once into 4-row panels; then per image, each run
// of 8 output pixels is gathered into a K × 8 panel (im2col for just those pixels, L1-resident) and
// every 4-filter panel of W_g multiplies it. The im2col matrix never exists whole. Depthwise layers
// (one input channel per group) take the direct plane kernels instead.
export function conv2dForward(geometry: usize, x: usize, w: usize, bias: usize, out: usize, scratch: usize): void {
  const g = changetype<ConvGeometry>(geometry);
  if (isThinDepthwise(g)) {
    depthwiseForward(g, x, w, bias, out, scratch);
    return;
  }
  const Fg = groupOutChannels(g), K = patchSize(g);
  const packedA = scratch;
  const groupBias = packedA + packedRowPanelsBytes(Fg, K);
  const work = groupBias + (<usize>((Fg + 3) & ~3) << 2);
  for (let group = 0; group < g.groups; group++) {
    packRowPanels(Fg, K, w + (<usize>(group * Fg) * <usize>K << 2), K, 1, packedA);
    if (bias != 0) {
      // Padded to whole panels so the micro-kernel can always read 4 biases.
      for (let f = 0; f < ((Fg + 3) & ~3); f++) {
        store<f32>(groupBias + (<usize>f << 2), f < Fg ? load<f32>(bias + (<usize>(group * Fg + f) << 2)) : 0);
      }
    }
    forwardGroup(g, group, x, packedA, bias != 0 ? groupBias : 0, out, work);
  }
}

/**
 * Every image of one group through weights already packed (packRowPanels layout, Fg × K): per image the
 * group's channels are copied once into a zero-padded buffer, then for each run of 8 output pixels the
 * K × 8 panel is gathered from it and multiplied by each 4-filter panel. groupBias (0 for none) holds
 * the group's biases padded to whole panels; work is forwardGroupBytes of scratch.
 */
export function forwardGroup(g: ConvGeometry, group: i32, x: usize, packedA: usize, groupBias: usize, out: usize, work: usize): void {
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  const P = g.outHeight * g.outWidth;
  const inPlane = <usize>(g.inHeight * g.inWidth);
  const outRowBytes = <usize>P << 2;
  const pointwise = isPointwise(g);
  const panel = work;
  const tile = panel + (<usize>K << 5);
  const tapOffsets = tile + TILE_BYTES;
  const padded = tapOffsets + (<usize>((K + 3) & ~3) << 2);
  writeTapOffsets(g, Cg, tapOffsets);
  for (let n = 0; n < g.batch; n++) {
    const xg = x + ((<usize>(n * g.inChannels + group * Cg) * inPlane) << 2);
    const og = out + (<usize>(n * g.outChannels + group * Fg) * <usize>P << 2);
    if (!pointwise) padInput(g, xg, Cg, padded);
    for (let p0 = 0; p0 < P; p0 += 8) {
      const count = min(8, P - p0);
      if (pointwise) gatherPointwisePanel(xg, Cg, P, p0, count, panel);
      else gatherPanel(g, paddedOrigin(padded), tapOffsets, K, p0, count, panel);
      for (let f0 = 0; f0 < Fg; f0 += 4) {
        const a = packedA + (<usize>f0 * <usize>K << 2);
        const b = groupBias != 0 ? groupBias + (<usize>f0 << 2) : 0;
        const c = og + <usize>f0 * outRowBytes + (<usize>p0 << 2);
        const rows = min(4, Fg - f0);
        if (rows == 4 && count == 8) {
          gemm4x8Packed(K, a, panel, c, outRowBytes, b);
        } else {
          gemm4x8Packed(K, a, panel, tile, 32, b);
          copyTile(tile, rows, count, c, outRowBytes);
        }
      }
    }
  }
}

/** Scratch bytes forwardGroup works in: the panel, a tile, the tap offsets and one image's padded channels. */
export function forwardGroupBytes(g: ConvGeometry): f64 {
  const K = patchSize(g);
  return <f64>K * 32 + <f64>TILE_BYTES + <f64>((K + 3) & ~3) * 4 + (isPointwise(g) ? 0 : paddedBytes(g, groupInChannels(g)));
}

/** Scratch bytes of conv2dForward: packed W_g, the group's padded bias, then forwardGroup's work. */
export function forwardScratchBytes(g: ConvGeometry): f64 {
  if (isThinDepthwise(g)) return depthwiseScratchBytes(g);
  const Fg = groupOutChannels(g), K = patchSize(g);
  return <f64>packedRowPanelsBytes(Fg, K) + <f64>((Fg + 3) & ~3) * 4 + forwardGroupBytes(g);
}
