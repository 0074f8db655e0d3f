// xp: a band of rows of one image's channels of a group with the zero padding written out, and the offsets of taps and pixels within it.

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

/** Padded rows that `outRows` consecutive output rows read: their strided span plus the dilated kernel (at most the plane). */
export function bandPaddedRows(g: ConvGeometry, outRows: i32): i32 {
  const rows = min(outRows, g.outHeight);
  return min(paddedHeight(g), (rows - 1) * g.strideHeight + (g.kernelHeight - 1) * g.dilationHeight + 1);
}

/** Bytes of a padded buffer for `channels` planes of `rows` padded rows each, slack included. */
export function paddedBytes(g: ConvGeometry, channels: i32, rows: i32): f64 {
  return (<f64>channels * <f64>rows * <f64>paddedWidth(g) + <f64>(2 * SLACK)) * 4;
}

/** The first plane's address inside a padded buffer that starts at `buffer`. */
@inline export function paddedOrigin(buffer: usize): usize {
  return buffer + (<usize>SLACK << 2);
}

/**
 * Writes padded rows [r0, r1) (r0 ≥ 0) of each plane into a buffer whose planes hold `rows` padded
 * rows, row r0 first: a task that computes a band of output rows reads no others, so its buffer
 * holds just the band (bandPaddedRows), not the whole image. Returns where padded row 0 of the first
 * plane would be, which the tap and pixel offsets count from (writeTapOffsets with the band's plane).
 * Rows of the buffer past r1 − r0 are left as they were: every read of them lands in a lane the
 * gather masks away or never stores.
 */
export function padInputRows(g: ConvGeometry, x: usize, channels: i32, buffer: usize, rows: i32, r0: i32, r1: i32): usize {
  const H = g.inHeight, W = g.inWidth;
  const WP = paddedWidth(g), HP = paddedHeight(g);
  const planeBytes = <usize>(rows * WP) << 2;
  const rowBytes = <usize>WP << 2;
  const to = min(r1, HP);
  for (let c = 0; c < channels; c++) {
    const plane = paddedOrigin(buffer) + <usize>c * planeBytes;
    const source = x + (<usize>(c * H * W) << 2);
    for (let r = r0; r < to; r++) {
      const dst = plane + <usize>(r - r0) * rowBytes;
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
  return paddedOrigin(buffer) - <usize>r0 * rowBytes;
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
