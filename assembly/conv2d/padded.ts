// xp: one image's channels of a group with the zero padding written out, and the offsets of taps and pixels within it.

import { ConvGeometry } from "../geometry";

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

/** Copies `channels` planes of x (H × W each) into the padded buffer, zeros in the border and slack. */
export function padInput(g: ConvGeometry, x: usize, channels: i32, buffer: usize): void {
  const H = g.inHeight, W = g.inWidth;
  const WP = paddedWidth(g), HP = paddedHeight(g);
  zeroFloats(buffer, SLACK);
  let dst = paddedOrigin(buffer);
  let src = x;
  for (let c = 0; c < channels; c++) {
    for (let r = 0; r < HP; r++) {
      const ih = r - g.padTop;
      if (<u32>ih >= <u32>H) {
        zeroFloats(dst, WP);
      } else {
        zeroFloats(dst, g.padLeft);
        const to = dst + (<usize>g.padLeft << 2);
        let i = 0;
        for (; i + 4 <= W; i += 4) v128.store(to + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
        for (; i < W; i++) store<f32>(to + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
        zeroFloats(to + (<usize>W << 2), g.padRight);
        src += <usize>W << 2;
      }
      dst += <usize>WP << 2;
    }
  }
  zeroFloats(dst, SLACK);
}

/** Copies the image area of a padded buffer (what a scatter accumulated) into dx, dropping the padding: the crop of the adjoint. */
export function cropInto(g: ConvGeometry, buffer: usize, channels: i32, dx: usize): void {
  const H = g.inHeight, W = g.inWidth;
  const WP = paddedWidth(g), HP = paddedHeight(g);
  let src = paddedOrigin(buffer) + (<usize>(g.padTop * WP + g.padLeft) << 2);
  let dst = dx;
  for (let c = 0; c < channels; c++) {
    let row = src;
    for (let r = 0; r < H; r++) {
      let i = 0;
      for (; i + 4 <= W; i += 4) v128.store(dst + (<usize>i << 2), v128.load(row + (<usize>i << 2)));
      for (; i < W; i++) store<f32>(dst + (<usize>i << 2), load<f32>(row + (<usize>i << 2)));
      row += <usize>WP << 2;
      dst += <usize>W << 2;
    }
    src += <usize>(HP * WP) << 2;
  }
}

/** tapOffsets[t] = c·HP·WP + kh·dh·WP + kw·dw for the K = channels·KH·KW taps, as i32. */
export function writeTapOffsets(g: ConvGeometry, channels: i32, tapOffsets: usize): void {
  const WP = paddedWidth(g), plane = paddedHeight(g) * WP;
  let t: usize = tapOffsets;
  for (let c = 0; c < channels; c++) {
    for (let kh = 0; kh < g.kernelHeight; kh++) {
      for (let kw = 0; kw < g.kernelWidth; kw++) {
        store<i32>(t, c * plane + kh * g.dilationHeight * WP + kw * g.dilationWidth);
        t += 4;
      }
    }
  }
}

/** Offset of output pixel (oh, ow) in the padded plane: oh·sh·WP + ow·sw. */
@inline export function pixelOffset(g: ConvGeometry, oh: i32, ow: i32): i32 {
  return oh * g.strideHeight * paddedWidth(g) + ow * g.strideWidth;
}

@inline export function zeroFloats(dst: usize, count: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(dst + (<usize>i << 2), zero);
  for (; i < count; i++) store<f32>(dst + (<usize>i << 2), 0);
}
