// xp: one image's channels of a group with the zero padding written out, and the offsets of taps and pixels within it.

import { ConvGeometry } from "../geometry";
import { copyFloats, zeroFloats } from "../floats";

// With the padding materialised, the value under tap t = (c, kh, kw) at output pixel p = (oh, ow) is
// xp[tapOffset(t) + pixelOffset(p)]: a sum of a per-tap and a per-pixel offset, with no bounds to
// check. Gathers and scatters then reduce to loads and stores at those sums. SLACK floats before and
// after the planes let 8-lane vector reads run past a row's end (or start) harmlessly.

/** Floats of slack before and after the padded planes. */
export const SLACK: i32 = 8;

/** Width of a padded row (floats). */
@inline export function paddedWidth(g: ConvGeometry): i32 {
  return g.inWidth + g.padLeft + g.padRight;
}

/** Rows of a padded plane. */
@inline export function paddedHeight(g: ConvGeometry): i32 {
  return g.inHeight + g.padTop + g.padBottom;
}

/** Bytes of a padded buffer for `channels` planes, slack included. */
export function paddedBytes(g: ConvGeometry, channels: i32): f64 {
  return (<f64>channels * <f64>paddedHeight(g) * <f64>paddedWidth(g) + <f64>(2 * SLACK)) * 4;
}

/** The first plane's address inside a padded buffer that starts at `buffer`. */
@inline export function paddedOrigin(buffer: usize): usize {
  return buffer + (<usize>SLACK << 2);
}

/**
 * Writes only padded rows [r0, r1) of each plane (the rest of the buffer is left as it was): a task
 * that computes a band of output rows reads no others. Every read of a row outside the band lands
 * in a lane the gather masks away or never stores.
 */
export function padInputRows(g: ConvGeometry, x: usize, channels: i32, buffer: usize, r0: i32, r1: i32): void {
  const H = g.inHeight, W = g.inWidth;
  const WP = paddedWidth(g), HP = paddedHeight(g);
  const planeBytes = <usize>(HP * WP) << 2;
  const rowBytes = <usize>WP << 2;
  const from = max(r0, 0), to = min(r1, HP);
  for (let c = 0; c < channels; c++) {
    const plane = paddedOrigin(buffer) + <usize>c * planeBytes;
    const source = x + (<usize>(c * H * W) << 2);
    for (let r = from; r < to; r++) {
      const dst = plane + <usize>r * rowBytes;
      const ih = r - g.padTop;
      if (<u32>ih >= <u32>H) {
        zeroFloats(dst, WP);
        continue;
      }
      zeroFloats(dst, g.padLeft);
      const target = dst + (<usize>g.padLeft << 2);
      const src = source + (<usize>(ih * W) << 2);
      copyFloats(target, src, W);
      zeroFloats(target + (<usize>W << 2), g.padRight);
    }
  }
}

/** tapOffsets[t] = c·planeFloats + kh·dh·WP + kw·dw for the K = channels·KH·KW taps, as i32. */
export function writeTapOffsets(g: ConvGeometry, channels: i32, planeFloats: i32, tapOffsets: usize): void {
  const WP = paddedWidth(g);
  let t: usize = tapOffsets;
  for (let c = 0; c < channels; c++) {
    for (let kh = 0; kh < g.kernelHeight; kh++) {
      for (let kw = 0; kw < g.kernelWidth; kw++) {
        store<i32>(t, c * planeFloats + kh * g.dilationHeight * WP + kw * g.dilationWidth);
        t += 4;
      }
    }
  }
}

/** Offset of output pixel (oh, ow) in the padded plane: oh·sh·WP + ow·sw. */
@inline export function pixelOffset(g: ConvGeometry, oh: i32, ow: i32): i32 {
  return oh * g.strideHeight * paddedWidth(g) + ow * g.strideWidth;
}
