// Depthwise convolution (one input channel per group, any channel multiplier): forward, dx and dw as tasks over planes.

import { ConvGeometry, groupOutChannels } from "../geometry";
import {
  depthwiseDwPlane, depthwisePlane, depthwiseDxScatterPlane, padPlane, paddedRowStride, SWEEP_ARGUMENTS_BYTES,
} from "./depthwise_plane";

// With one input channel per group the GEMM has a single row of K = KH·KW: too thin to pay for
// packing. Here each plane is copied once into a zero-padded buffer (this thread's work memory) and
// swept directly. A task is one (image, channel) plane for forward and dx, one filter for dw (its
// sum over the batch stays in one task, in image order).

@inline function inputStride(g: ConvGeometry): i32 {
  return paddedRowStride(g.inWidth, g.padLeft, g.padRight, g.outWidth, g.strideWidth, g.kernelWidth, g.dilationWidth);
}

/** Work bytes of any depthwise task: the plane sweep's arguments, then one padded plane, of the input or (dx full) of dy. */
export function depthwiseWorkBytes(g: ConvGeometry): f64 {
  const KH = g.kernelHeight, KW = g.kernelWidth;
  const inRows = g.inHeight + g.padTop + g.padBottom;
  const spanH = g.dilationHeight * (KH - 1), spanW = g.dilationWidth * (KW - 1);
  const outRows = g.outHeight + max(0, spanH - g.padTop) + max(0, spanH - g.padBottom);
  const outStride = paddedRowStride(g.outWidth, max(0, spanW - g.padLeft), max(0, spanW - g.padRight), g.inWidth, 1, KW, g.dilationWidth);
  return <f64>SWEEP_ARGUMENTS_BYTES + max(<f64>inRows * <f64>inputStride(g), <f64>outRows * <f64>outStride) * 4;
}

export function depthwisePlaneTasks(g: ConvGeometry): i32 {
  return g.batch * g.inChannels;
}

/** out[n,f] = b[f] + xp[n, ⌊f / Fg⌋] ⋆ w[f] for the (n, c) planes of tasks [t0, t1). */
export function depthwiseForwardRun(g: ConvGeometry, x: usize, w: usize, bias: usize, out: usize, work: usize, t0: i32, t1: i32): void {
  const Fg = groupOutChannels(g);
  const H = g.inHeight, W = g.inWidth, KH = g.kernelHeight, KW = g.kernelWidth;
  const rows = H + g.padTop + g.padBottom;
  const rowStride = inputStride(g);
  const inPlaneBytes = <usize>(H * W) << 2;
  const outPlaneBytes = <usize>(g.outHeight * g.outWidth) << 2;
  const args = work, plane = work + SWEEP_ARGUMENTS_BYTES;
  for (let t = t0; t < t1; t++) {
    const n = t / g.inChannels, c = t % g.inChannels;
    padPlane(x + <usize>t * inPlaneBytes, H, W, g.padTop, rows, g.padLeft, rowStride, plane);
    for (let j = 0; j < Fg; j++) {
      const f = c * Fg + j;
      depthwisePlane(plane, rowStride, w + (<usize>(f * KH * KW) << 2), KH, KW,
        g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth, g.outHeight, g.outWidth,
        bias != 0 ? load<f32>(bias + (<usize>f << 2)) : 0, out + <usize>(n * g.outChannels + f) * outPlaneBytes, false, args);
    }
  }
}

/** Bytes depthwiseDxPrepare writes: the rotated filters. */
export function depthwiseDxPreparedBytes(g: ConvGeometry): f64 {
  return <f64>((g.outChannels * g.kernelHeight * g.kernelWidth + 3) & ~3) * 4;
}

/**
 * The 180°-rotated filters for the dx full correlation; returns whether every weight is finite (0·∞
 * with the full correlation's extra padding would turn an exact ±∞ into NaN, so such weights take
 * the scatter, as do geometries dxFullApplies rejects).
 */
export function depthwiseDxPrepare(g: ConvGeometry, w: usize, data: usize): bool {
  const taps = g.kernelHeight * g.kernelWidth;
  let finite = true;
  for (let t = 0; t < g.outChannels * taps; t++) {
    const j = t / taps, k = t - j * taps;
    const v = load<f32>(w + (<usize>(j * taps + taps - 1 - k) << 2));
    if (v - v != 0) finite = false;
    store<f32>(data + (<usize>t << 2), v);
  }
  return finite;
}

/**
 * dx[n,c] = Σ_{f of group c} the adjoint of the forward plane sweep, for the (n, c) planes of tasks
 * [t0, t1): full, the correlation of padded dy planes with the rotated filters (data); otherwise the
 * scatter of dy·w into a padded plane, cropped.
 */
export function depthwiseDxRun(
  g: ConvGeometry, full: bool, data: usize, w: usize, dy: usize, dx: usize, work: usize, t0: i32, t1: i32,
): void {
  const Fg = groupOutChannels(g);
  const H = g.inHeight, W = g.inWidth, KH = g.kernelHeight, KW = g.kernelWidth;
  const outH = g.outHeight, outW = g.outWidth;
  const inPlaneBytes = <usize>(H * W) << 2;
  const outPlaneBytes = <usize>(outH * outW) << 2;
  const taps = KH * KW;
  const spanH = g.dilationHeight * (KH - 1), spanW = g.dilationWidth * (KW - 1);
  const padTop = spanH - g.padTop, padBottom = spanH - g.padBottom;
  const padLeft = spanW - g.padLeft, padRight = spanW - g.padRight;
  const fullStride = paddedRowStride(outW, padLeft, padRight, W, 1, KW, g.dilationWidth);
  const scatterRows = H + g.padTop + g.padBottom;
  const scatterStride = inputStride(g);
  const args = work, plane = work + SWEEP_ARGUMENTS_BYTES;
  for (let t = t0; t < t1; t++) {
    const n = t / g.inChannels, c = t % g.inChannels;
    const dxc = dx + <usize>t * inPlaneBytes;
    if (full) {
      for (let j = 0; j < Fg; j++) {
        const f = c * Fg + j;
        padPlane(dy + <usize>(n * g.outChannels + f) * outPlaneBytes, outH, outW, padTop, outH + padTop + padBottom, padLeft, fullStride, plane);
        depthwisePlane(plane, fullStride, data + (<usize>(f * taps) << 2), KH, KW, 1, 1,
          g.dilationHeight, g.dilationWidth, H, W, 0, dxc, j > 0, args);
      }
      continue;
    }
    memory.fill(plane, 0, <usize>scatterRows * <usize>scatterStride << 2);
    for (let j = 0; j < Fg; j++) {
      const f = c * Fg + j;
      depthwiseDxScatterPlane(dy + <usize>(n * g.outChannels + f) * outPlaneBytes, outH, outW, w + (<usize>(f * taps) << 2),
        KH, KW, g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth, plane, scatterStride);
    }
    const rowBytes = <usize>scatterStride << 2;
    let src = plane + <usize>g.padTop * rowBytes + (<usize>g.padLeft << 2);
    let dst = dxc;
    for (let r = 0; r < H; r++) {
      for (let i = 0; i < W; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
      src += rowBytes;
      dst += <usize>W << 2;
    }
  }
}

export function depthwiseDwTasks(g: ConvGeometry): i32 {
  return g.outChannels;
}

/** dw[f] (+)= Σ_n dy[n,f] ⋆ xp[n, ⌊f / Fg⌋] for the filters f of tasks [t0, t1). */
export function depthwiseDwRun(g: ConvGeometry, dy: usize, x: usize, dw: usize, accumulate: bool, work: usize, t0: i32, t1: i32): void {
  const Fg = groupOutChannels(g);
  const H = g.inHeight, W = g.inWidth, KH = g.kernelHeight, KW = g.kernelWidth;
  const rows = H + g.padTop + g.padBottom;
  const rowStride = inputStride(g);
  const inPlaneBytes = <usize>(H * W) << 2;
  const outPlaneBytes = <usize>(g.outHeight * g.outWidth) << 2;
  for (let f = t0; f < t1; f++) {
    const c = f / Fg;
    for (let n = 0; n < g.batch; n++) {
      padPlane(x + <usize>(n * g.inChannels + c) * inPlaneBytes, H, W, g.padTop, rows, g.padLeft, rowStride, work);
      depthwiseDwPlane(work, rowStride, dy + <usize>(n * g.outChannels + f) * outPlaneBytes, g.outHeight, g.outWidth,
        KH, KW, g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth,
        dw + (<usize>(f * KH * KW) << 2), accumulate || n > 0);
    }
  }
}
