// Depthwise convolution (one input channel per group, any channel multiplier): forward, dx and dw by direct plane kernels.

import { ConvGeometry, groupOutChannels } from "../geometry";
import {
  depthwiseFilterPlane, depthwisePlane, depthwiseScatterPlane, padPlane, paddedRowStride,
} from "./depthwise_plane";

// With one input channel per group the GEMM has a single row of K = KH·KW: too thin to pay for
// packing. Here each channel plane is copied once into a zero-padded buffer and swept directly,
// eight output pixels (two vectors) at a time.

/** out[n,f] = b[f] + xp[n, ⌊f / Fg⌋] ⋆ w[f]. */
export function depthwiseForward(g: ConvGeometry, x: usize, w: usize, bias: usize, out: usize, scratch: usize): void {
  const Fg = groupOutChannels(g);
  const H = g.inHeight, W = g.inWidth, KH = g.kernelHeight, KW = g.kernelWidth;
  const rows = H + g.padTop + g.padBottom;
  const rowStride = paddedRowStride(W, g.padLeft, g.padRight, g.outWidth, g.strideWidth, KW, g.dilationWidth);
  const inPlaneBytes = <usize>(H * W) << 2;
  const outPlaneBytes = <usize>(g.outHeight * g.outWidth) << 2;
  for (let n = 0; n < g.batch; n++) {
    for (let c = 0; c < g.inChannels; c++) {
      padPlane(x + <usize>(n * g.inChannels + c) * inPlaneBytes, H, W, g.padTop, rows, g.padLeft, rowStride, scratch);
      for (let j = 0; j < Fg; j++) {
        const f = c * Fg + j;
        depthwisePlane(scratch, rowStride, w + (<usize>(f * KH * KW) << 2), KH, KW,
          g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth, g.outHeight, g.outWidth,
          bias != 0 ? load<f32>(bias + (<usize>f << 2)) : 0, out + <usize>(n * g.outChannels + f) * outPlaneBytes, false);
      }
    }
  }
}

/**
 * dx[n,c] = Σ_{f of group c} the adjoint of the forward sweep. At stride 1 with finite weights and
 * padding no wider than the dilated kernel, that adjoint is itself a forward sweep: dy padded by
 * d·(K − 1) − p per side, correlated with the 180°-rotated filter. Otherwise (strides, a non-finite
 * weight — whose 0·∞ with the extra padding would turn an exact ±∞ into NaN) dy·w is scattered into
 * a padded dx plane and the padding cropped away.
 */
export function depthwiseBackwardInput(g: ConvGeometry, dy: usize, w: usize, dx: usize, scratch: usize): void {
  const Fg = groupOutChannels(g);
  const H = g.inHeight, W = g.inWidth, KH = g.kernelHeight, KW = g.kernelWidth;
  const outH = g.outHeight, outW = g.outWidth;
  const inPlaneBytes = <usize>(H * W) << 2;
  const outPlaneBytes = <usize>(outH * outW) << 2;
  const taps = KH * KW;
  const rotated = scratch;
  const plane = scratch + (<usize>(Fg * taps + 4) << 2);
  const spanH = g.dilationHeight * (KH - 1), spanW = g.dilationWidth * (KW - 1);
  const padTop = spanH - g.padTop, padBottom = spanH - g.padBottom;
  const padLeft = spanW - g.padLeft, padRight = spanW - g.padRight;
  const asSweep = g.strideHeight == 1 && g.strideWidth == 1 && padTop >= 0 && padBottom >= 0 && padLeft >= 0 && padRight >= 0;
  const sweepStride = paddedRowStride(outW, padLeft, padRight, W, 1, KW, g.dilationWidth);
  const scatterRows = H + g.padTop + g.padBottom;
  const scatterStride = paddedRowStride(W, g.padLeft, g.padRight, outW, g.strideWidth, KW, g.dilationWidth);
  for (let c = 0; c < g.inChannels; c++) {
    const filters = w + (<usize>(c * Fg * taps) << 2);
    let sweep = asSweep;
    if (sweep) {
      for (let t = 0; t < Fg * taps; t++) {
        // Within each filter, tap (kh, kw) moves to (KH − 1 − kh, KW − 1 − kw): the taps reversed.
        const j = t / taps, k = t - j * taps;
        const v = load<f32>(filters + (<usize>(j * taps + taps - 1 - k) << 2));
        if (v - v != 0) sweep = false; // ∞ or NaN
        store<f32>(rotated + (<usize>t << 2), v);
      }
    }
    for (let n = 0; n < g.batch; n++) {
      const dxc = dx + <usize>(n * g.inChannels + c) * inPlaneBytes;
      if (sweep) {
        for (let j = 0; j < Fg; j++) {
          const f = c * Fg + j;
          padPlane(dy + <usize>(n * g.outChannels + f) * outPlaneBytes, outH, outW, padTop, outH + padTop + padBottom, padLeft, sweepStride, plane);
          depthwisePlane(plane, sweepStride, rotated + (<usize>(j * taps) << 2), KH, KW, 1, 1,
            g.dilationHeight, g.dilationWidth, H, W, 0, dxc, j > 0);
        }
      } else {
        memory.fill(plane, 0, <usize>scatterRows * <usize>scatterStride << 2);
        for (let j = 0; j < Fg; j++) {
          const f = c * Fg + j;
          depthwiseScatterPlane(dy + <usize>(n * g.outChannels + f) * outPlaneBytes, outH, outW, filters + (<usize>(j * taps) << 2),
            KH, KW, g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth, plane, scatterStride);
        }
        const rowBytes = <usize>scatterStride << 2;
        let src = plane + <usize>g.padTop * rowBytes + (<usize>g.padLeft << 2);
        let dst = dxc;
        for (let r = 0; r < H; r++) {
          memory.copy(dst, src, <usize>W << 2);
          src += rowBytes;
          dst += <usize>W << 2;
        }
      }
    }
  }
}

/** dw[f] (+)= Σ_n dy[n,f] ⋆ xp[n, ⌊f / Fg⌋]: per tap, a dot product over the output pixels. */
export function depthwiseBackwardFilter(g: ConvGeometry, dy: usize, x: usize, dw: usize, scratch: usize, accumulate: bool): void {
  const Fg = groupOutChannels(g);
  const H = g.inHeight, W = g.inWidth, KH = g.kernelHeight, KW = g.kernelWidth;
  const rows = H + g.padTop + g.padBottom;
  const rowStride = paddedRowStride(W, g.padLeft, g.padRight, g.outWidth, g.strideWidth, KW, g.dilationWidth);
  const inPlaneBytes = <usize>(H * W) << 2;
  const outPlaneBytes = <usize>(g.outHeight * g.outWidth) << 2;
  for (let n = 0; n < g.batch; n++) {
    for (let c = 0; c < g.inChannels; c++) {
      padPlane(x + <usize>(n * g.inChannels + c) * inPlaneBytes, H, W, g.padTop, rows, g.padLeft, rowStride, scratch);
      for (let j = 0; j < Fg; j++) {
        const f = c * Fg + j;
        depthwiseFilterPlane(scratch, rowStride, dy + <usize>(n * g.outChannels + f) * outPlaneBytes, g.outHeight, g.outWidth,
          KH, KW, g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth,
          dw + (<usize>(f * KH * KW) << 2), accumulate || n > 0);
      }
    }
  }
}

/** Scratch bytes of the depthwise kernels: one padded plane (input or dy side) and the rotated filters. */
export function depthwiseScratchBytes(g: ConvGeometry): f64 {
  const KH = g.kernelHeight, KW = g.kernelWidth;
  const inRows = g.inHeight + g.padTop + g.padBottom;
  const inStride = paddedRowStride(g.inWidth, g.padLeft, g.padRight, g.outWidth, g.strideWidth, KW, g.dilationWidth);
  const spanH = g.dilationHeight * (KH - 1), spanW = g.dilationWidth * (KW - 1);
  const outRows = g.outHeight + max(0, spanH - g.padTop) + max(0, spanH - g.padBottom);
  const outStride = paddedRowStride(g.outWidth, max(0, spanW - g.padLeft), max(0, spanW - g.padRight), g.inWidth, 1, KW, g.dilationWidth);
  const plane = max(<f64>inRows * <f64>inStride, <f64>outRows * <f64>outStride) * 4;
  return <f64>(groupOutChannels(g) * KH * KW + 4) * 4 + plane;
}
