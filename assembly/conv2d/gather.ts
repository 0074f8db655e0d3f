// im2col from the padded input: dst[t, i] = xp[tapOffset(t) + pixelOffset(i)] for taps t = (c, kh, kw) and output pixels i.

import { ConvGeometry } from "../geometry";
import { pixelOffset } from "./padded";
import { zeroFloats } from "../floats";

// The forward's panel reads xp (padded.ts), which has the zero padding written out, so none of its
// reads needs a bounds check; a panel holds 8 consecutive output pixels (raster order, possibly
// wrapping to the next row). dw reads longer runs of pixels, one row segment at a time, from x.

/**
 * The packed B panel of the forward micro-kernel: panel[t][lane] = xp[tapOffsets[t] + pixel p0 + lane]
 * for the K taps. Lanes ≥ count hold copies of lane 0's column: whatever they compute is never stored.
 */
export function gatherPanel(g: ConvGeometry, xp: usize, tapOffsets: usize, taps: i32, p0: i32, count: i32, panel: usize): void {
  const outWidth = g.outWidth;
  const stride = g.strideWidth;
  const oh = p0 / outWidth;
  const ow = p0 - oh * outWidth;
  const base = pixelOffset(g, oh, ow);
  if (count == 8 && ow + 8 <= outWidth && stride <= 2) {
    if (stride == 1) {
      // Eight pixels of one row: two vector copies per tap.
      for (let t = 0; t < taps; t++) {
        const src = xp + (<usize>(load<i32>(tapOffsets + (<usize>t << 2)) + base) << 2);
        v128.store(panel, v128.load(src));
        v128.store(panel, v128.load(src, 16), 16);
        panel += 32;
      }
    } else {
      for (let t = 0; t < taps; t++) {
        const src = xp + (<usize>(load<i32>(tapOffsets + (<usize>t << 2)) + base) << 2);
        v128.store(panel, v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6));
        v128.store(panel, v128.shuffle<f32>(v128.load(src, 32), v128.load(src, 48), 0, 2, 4, 6), 16);
        panel += 32;
      }
    }
    return;
  }
  if (count == 8 && stride == 1 && outWidth >= 8) {
    // Eight pixels over two rows: lanes < split from this row, the rest from the start of the next.
    // Both runs are read as whole vectors (the second shifted back by split) and blended by lane.
    const split = outWidth - ow;
    const second = pixelOffset(g, oh + 1, 0) - split;
    const mask0 = laneMask(split, 0), mask1 = laneMask(split, 4);
    for (let t = 0; t < taps; t++) {
      const tap = load<i32>(tapOffsets + (<usize>t << 2));
      const a = xp + (<usize>(tap + base) << 2);
      const b = xp + (<usize>(tap + second) << 2);
      v128.store(panel, v128.bitselect(v128.load(a), v128.load(b), mask0));
      v128.store(panel, v128.bitselect(v128.load(a, 16), v128.load(b, 16), mask1), 16);
      panel += 32;
    }
    return;
  }
  // Anything else (narrow rows, strides above 2, the last partial panel): lane by lane.
  const o0 = laneOffset(g, p0, 0, count), o1 = laneOffset(g, p0, 1, count);
  const o2 = laneOffset(g, p0, 2, count), o3 = laneOffset(g, p0, 3, count);
  const o4 = laneOffset(g, p0, 4, count), o5 = laneOffset(g, p0, 5, count);
  const o6 = laneOffset(g, p0, 6, count), o7 = laneOffset(g, p0, 7, count);
  for (let t = 0; t < taps; t++) {
    const src = xp + (<usize>load<i32>(tapOffsets + (<usize>t << 2)) << 2);
    let v = f32x4.splat(load<f32>(src + o0));
    v = f32x4.replace_lane(v, 1, load<f32>(src + o1));
    v = f32x4.replace_lane(v, 2, load<f32>(src + o2));
    v = f32x4.replace_lane(v, 3, load<f32>(src + o3));
    let u = f32x4.splat(load<f32>(src + o4));
    u = f32x4.replace_lane(u, 1, load<f32>(src + o5));
    u = f32x4.replace_lane(u, 2, load<f32>(src + o6));
    u = f32x4.replace_lane(u, 3, load<f32>(src + o7));
    v128.store(panel, v);
    v128.store(panel, u, 16);
    panel += 32;
  }
}

/**
 * panel[r][l] = src[r·rowFloats + p0 + l] for r < rows, l < 8, lanes ≥ count 0: eight columns of a
 * row-major matrix. The forward panel of a 1×1, stride-1, unpadded convolution (x is its own im2col
 * matrix, rows = channels) and the dx scatter's panel of dy (rows = filters).
 */
export function gatherColumns(src: usize, rows: i32, rowFloats: i32, p0: i32, count: i32, panel: usize): void {
  let from = src + (<usize>p0 << 2);
  const rowBytes = <usize>rowFloats << 2;
  if (count == 8) {
    for (let r = 0; r < rows; r++) {
      v128.store(panel, v128.load(from));
      v128.store(panel, v128.load(from, 16), 16);
      from += rowBytes;
      panel += 32;
    }
    return;
  }
  for (let r = 0; r < rows; r++) {
    for (let l = 0; l < 8; l++) store<f32>(panel + (<usize>l << 2), l < count ? load<f32>(from + (<usize>l << 2)) : 0);
    from += rowBytes;
    panel += 32;
  }
}

/**
 * Rows of im2col for taps [tap0, tap1) and pixels [p0, p0 + count): dst[t − tap0][i], rows rowBytes
 * apart, read straight from x (the group's channels of one image) with the padding as zeros. dw gathers
 * the im2col matrix a block of taps at a time and never builds it whole; its runs are whole output
 * rows, so the bounds cost little here and no padded copy is needed.
 */
export function gatherRows(
  g: ConvGeometry, x: usize, tap0: i32, tap1: i32, p0: i32, count: i32, dst: usize, rowBytes: usize,
): void {
  const outWidth = g.outWidth;
  const H = g.inHeight, W = g.inWidth, KH = g.kernelHeight, KW = g.kernelWidth;
  const stride = g.strideWidth;
  let i = 0;
  let p = p0;
  while (i < count) {
    const oh = p / outWidth;
    const ow = p - oh * outWidth;
    const length = min(count - i, outWidth - ow);
    const rowBase = oh * g.strideHeight - g.padTop;
    const columnBase = ow * stride - g.padLeft;
    const taps = KH * KW;
    let c = tap0 / taps;
    let kh = (tap0 - c * taps) / KW;
    let kw = tap0 - c * taps - kh * KW;
    let row = dst + (<usize>i << 2);
    for (let t = tap0; t < tap1; t++) {
      const ih = rowBase + kh * g.dilationHeight;
      if (<u32>ih >= <u32>H) {
        zeroFloats(row, length);
      } else {
        copyBounded(x + (<usize>((c * H + ih) * W) << 2), columnBase + kw * g.dilationWidth, stride, W, length, row);
      }
      row += rowBytes;
      if (++kw == KW) {
        kw = 0;
        if (++kh == KH) {
          kh = 0;
          c++;
        }
      }
    }
    i += length;
    p += length;
  }
}

// dst[l] = row[iw0 + l·stride] where 0 ≤ that < width, else 0.
@inline function copyBounded(row: usize, iw0: i32, stride: i32, width: i32, length: i32, dst: usize): void {
  const first = iw0 >= 0 ? 0 : min(length, (stride - 1 - iw0) / stride);
  const end = max(first, width - 1 - iw0 < 0 ? 0 : min(length, (width - 1 - iw0) / stride + 1));
  zeroFloats(dst, first);
  const src = row + (<usize>iw0 << 2);
  let l = first;
  if (stride == 1) {
    for (; l + 4 <= end; l += 4) v128.store(dst + (<usize>l << 2), v128.load(src + (<usize>l << 2)));
  } else if (stride == 2) {
    for (; l + 4 <= end; l += 4) {
      const s = src + (<usize>l << 3);
      v128.store(dst + (<usize>l << 2), v128.shuffle<f32>(v128.load(s), v128.load(s, 16), 0, 2, 4, 6));
    }
  }
  for (; l < end; l++) store<f32>(dst + (<usize>l << 2), load<f32>(src + (<usize>(l * stride) << 2)));
  zeroFloats(dst + (<usize>end << 2), length - end);
}

// Byte offset of panel lane `lane`'s pixel (p0 + lane, or p0 for lanes past count) in the padded plane.
@inline function laneOffset(g: ConvGeometry, p0: i32, lane: i32, count: i32): usize {
  const p = lane < count ? p0 + lane : p0;
  const oh = p / g.outWidth;
  return <usize>pixelOffset(g, oh, p - oh * g.outWidth) << 2;
}

// All-ones in the lanes first … first + 3 that are below split, zeros elsewhere.
@inline function laneMask(split: i32, first: i32): v128 {
  return i32x4.lt_s(i32x4(first, first + 1, first + 2, first + 3), i32x4.splat(split));
}
