// dx at stride 1 as a forward pass: dx = full(dy) ⋆ rot180(w)ᵀ, the GEMM forward over dy zero-padded by d·(K − 1) − p.

import { ConvGeometry, groupInChannels, groupOutChannels, patchSize } from "../geometry";
import { packTransposedRotated } from "../gemm/pack_panels";
import { gemmForwardPrepareOffsets, gemmForwardPreparedBytes, gemmForwardRun, gemmForwardTasks, gemmForwardWorkBytes, groupWeights } from "./forward";
import { zeroFloats } from "../floats";

// At stride 1 (padding at most the dilated kernel's span) dx is the "full" correlation of dy with
// the (f, c)-transposed, 180°-rotated filter: a forward convolution whose input is dy (F channels,
// Ho × Wo), whose output is dx (C channels, H × W), padded by d·(K − 1) − p per side, with the same
// dilation and groups. It runs through the forward GEMM's gather and micro-kernel unchanged, with
// nothing to scatter. Every forward computed here multiplies weights by padding zeros, so a weight
// that is ±∞ or NaN (0·∞ = NaN where the exact result is ±∞) sends the call to the scatter instead.

/** Whether the full correlation computes dx for this geometry: stride 1, no pad wider than the dilated kernel. */
export function dxFullApplies(g: ConvGeometry): bool {
  const spanH = g.dilationHeight * (g.kernelHeight - 1), spanW = g.dilationWidth * (g.kernelWidth - 1);
  return g.strideHeight == 1 && g.strideWidth == 1
    && g.padTop <= spanH && g.padBottom <= spanH && g.padLeft <= spanW && g.padRight <= spanW;
}

/** Writes at dst the forward geometry that computes g's dx (dxFullApplies(g) must hold). */
export function dxFullGeometry(g: ConvGeometry, dst: usize): ConvGeometry {
  const spanH = g.dilationHeight * (g.kernelHeight - 1), spanW = g.dilationWidth * (g.kernelWidth - 1);
  const t = changetype<ConvGeometry>(dst);
  t.batch = g.batch;
  t.inChannels = g.outChannels;
  t.inHeight = g.outHeight;
  t.inWidth = g.outWidth;
  t.outChannels = g.inChannels;
  t.kernelHeight = g.kernelHeight;
  t.kernelWidth = g.kernelWidth;
  t.strideHeight = 1;
  t.strideWidth = 1;
  t.padTop = spanH - g.padTop;
  t.padBottom = spanH - g.padBottom;
  t.padLeft = spanW - g.padLeft;
  t.padRight = spanW - g.padRight;
  t.dilationHeight = g.dilationHeight;
  t.dilationWidth = g.dilationWidth;
  t.groups = g.groups;
  t.outHeight = g.inHeight;
  t.outWidth = g.inWidth;
  t.algorithm = g.algorithm;
  return t;
}

// t below is the geometry dxFullGeometry wrote: every size is the forward pass's over it.

export function dxFullPreparedBytes(t: ConvGeometry): f64 {
  return gemmForwardPreparedBytes(t);
}

export function dxFullWorkBytes(t: ConvGeometry): f64 {
  return gemmForwardWorkBytes(t);
}

/** Packs the transposed, rotated weights of every group (no bias); false if any weight is ±∞ or NaN. */
export function dxFullPrepare(g: ConvGeometry, t: ConvGeometry, w: usize, data: usize): bool {
  const Cg = groupInChannels(g), Fg = groupOutChannels(g), K = patchSize(g);
  gemmForwardPrepareOffsets(t, data);
  for (let group = 0; group < g.groups; group++) {
    const packed = groupWeights(t, data, group);
    zeroFloats(packed - (<usize>((Cg + 3) & ~3) << 2), (Cg + 3) & ~3); // the forward pass's (absent) biases
    if (!packTransposedRotated(Fg, Cg, g.kernelHeight, g.kernelWidth, w + (<usize>(group * Fg) * <usize>K << 2), packed)) return false;
  }
  return true;
}

export function dxFullTasks(t: ConvGeometry): i32 {
  return gemmForwardTasks(t);
}

export function dxFullRun(t: ConvGeometry, data: usize, dy: usize, dx: usize, work: usize, t0: i32, t1: i32, form: i32): void {
  gemmForwardRun(t, data, dy, dx, work, t0, t1, form);
}
