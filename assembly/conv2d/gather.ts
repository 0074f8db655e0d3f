// im2col over a range: dst[t, i] = xp[c, oh·sh + kh·dh, ow·sw + kw·dw] for taps t = (c, kh, kw) and pixels i = (oh, ow).

import { ConvGeometry, isPointwise } from "../geometry";

// xp is x with its zero padding: coordinates outside the image read 0. Pixels are output positions in
// raster order; a range of them splits into row segments, and each segment is one strided row read.

/**
 * The packed B panel of the forward micro-kernel: panel[k][lane] for all K taps of the group and the
 * 8 output pixels p0 … p0 + 7 (lanes ≥ count are 0). x points at the group's first channel of one image.
 */
export function gatherPanel(g: ConvGeometry, x: usize, channels: i32, p0: i32, count: i32, panel: usize): void {
  if (isPointwise(g)) {
    // 1×1, stride 1, no padding: pixel p of channel c is x[c·P + p], so the panel is 8 columns of x.
    gatherPointwisePanel(x, channels, g.outHeight * g.outWidth, p0, count, panel);
    return;
  }
  const outWidth = g.outWidth;
  if (count == 8) {
    const oh = p0 / outWidth;
    const ow = p0 - oh * outWidth;
    if (ow + 8 <= outWidth && gatherRowPanel(g, x, channels, oh, ow, panel)) return;
  }
  let lane = 0;
  let p = p0;
  while (lane < count) {
    const oh = p / outWidth;
    const ow = p - oh * outWidth;
    const length = min(count - lane, outWidth - ow);
    gatherSegment(g, x, 0, channels * g.kernelHeight * g.kernelWidth, oh, ow, length, panel + (<usize>lane << 2), 32);
    lane += length;
    p += length;
  }
  if (count < 8) {
    const taps = channels * g.kernelHeight * g.kernelWidth;
    for (let k = 0; k < taps; k++) {
      const row = panel + (<usize>k << 5);
      for (let l = count; l < 8; l++) store<f32>(row + (<usize>l << 2), 0);
    }
  }
}

// The common case, made cheap: 8 pixels of one output row whose taps all fall inside the image
// horizontally (rows may still fall in the padding), at stride 1 or 2. Per tap that leaves one row
// check and two vector copies. Returns false (having written nothing) when the case does not apply.
function gatherRowPanel(g: ConvGeometry, x: usize, channels: i32, oh: i32, ow: i32, panel: usize): bool {
  const W = g.inWidth, H = g.inHeight;
  const KH = g.kernelHeight, KW = g.kernelWidth;
  const strideW = g.strideWidth, dilationW = g.dilationWidth;
  const columnBase = ow * strideW - g.padLeft;
  if (strideW > 2 || columnBase < 0 || columnBase + (KW - 1) * dilationW + 7 * strideW + strideW > W) return false;
  const rowBase = oh * g.strideHeight - g.padTop;
  const rowBytes = <usize>W << 2;
  const dilationBytes = <usize>dilationW << 2;
  const zero = f32x4.splat(0);
  let dst = panel;
  let plane = x + (<usize>columnBase << 2);
  const planeBytes = <usize>(H * W) << 2;
  for (let c = 0; c < channels; c++) {
    for (let kh = 0; kh < KH; kh++) {
      const ih = rowBase + kh * g.dilationHeight;
      if (<u32>ih >= <u32>H) {
        for (let kw = 0; kw < KW; kw++) {
          v128.store(dst, zero);
          v128.store(dst, zero, 16);
          dst += 32;
        }
        continue;
      }
      let src = plane + <usize>ih * rowBytes;
      if (strideW == 1) {
        for (let kw = 0; kw < KW; kw++) {
          v128.store(dst, v128.load(src));
          v128.store(dst, v128.load(src, 16), 16);
          src += dilationBytes;
          dst += 32;
        }
      } else {
        for (let kw = 0; kw < KW; kw++) {
          v128.store(dst, v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6));
          v128.store(dst, v128.shuffle<f32>(v128.load(src, 32), v128.load(src, 48), 0, 2, 4, 6), 16);
          src += dilationBytes;
          dst += 32;
        }
      }
    }
    plane += planeBytes;
  }
  return true;
}

function gatherPointwisePanel(x: usize, channels: i32, positions: i32, p0: i32, count: i32, panel: usize): void {
  let src = x + (<usize>p0 << 2);
  const planeBytes = <usize>positions << 2;
  if (count == 8) {
    for (let c = 0; c < channels; c++) {
      v128.store(panel, v128.load(src));
      v128.store(panel, v128.load(src, 16), 16);
      src += planeBytes;
      panel += 32;
    }
    return;
  }
  for (let c = 0; c < channels; c++) {
    for (let l = 0; l < 8; l++) store<f32>(panel + (<usize>l << 2), l < count ? load<f32>(src + (<usize>l << 2)) : 0);
    src += planeBytes;
    panel += 32;
  }
}

/**
 * Rows of im2col for taps [tap0, tap1) and pixels [p0, p0 + count): dst[t − tap0][i] with row stride
 * rowBytes. The im2col matrix is never built whole: dw gathers it a block of taps at a time.
 */
export function gatherRows(
  g: ConvGeometry, x: usize, tap0: i32, tap1: i32, p0: i32, count: i32, dst: usize, rowBytes: usize,
): void {
  const outWidth = g.outWidth;
  let i = 0;
  let p = p0;
  while (i < count) {
    const oh = p / outWidth;
    const ow = p - oh * outWidth;
    const length = min(count - i, outWidth - ow);
    gatherSegment(g, x, tap0, tap1, oh, ow, length, dst + (<usize>i << 2), rowBytes);
    i += length;
    p += length;
  }
}

// One output row segment (oh, ow … ow + length − 1) for taps [tap0, tap1), each tap's values written
// contiguously at dst + (tap − tap0)·rowBytes.
@inline function gatherSegment(
  g: ConvGeometry, x: usize, tap0: i32, tap1: i32,
  oh: i32, ow: i32, length: i32, dst: usize, rowBytes: usize,
): void {
  const H = g.inHeight, W = g.inWidth;
  const KH = g.kernelHeight, KW = g.kernelWidth;
  const strideW = g.strideWidth;
  const rowBase = oh * g.strideHeight - g.padTop;
  const columnBase = ow * strideW - g.padLeft;
  const taps = KH * KW;
  let c = tap0 / taps;
  let kh = (tap0 - c * taps) / KW;
  let kw = tap0 - c * taps - kh * KW;
  for (let t = tap0; t < tap1; t++) {
    const ih = rowBase + kh * g.dilationHeight;
    if (<u32>ih >= <u32>H) {
      fillZero(dst, length);
    } else {
      const iw0 = columnBase + kw * g.dilationWidth;
      const src = x + (<usize>((c * H + ih) * W) << 2);
      copyStrided(src, iw0, strideW, W, length, dst);
    }
    dst += rowBytes;
    if (++kw == KW) {
      kw = 0;
      if (++kh == KH) {
        kh = 0;
        c++;
      }
    }
  }
}

// dst[i] = row[iw0 + i·stride] where 0 ≤ that < width, else 0.
@inline function copyStrided(row: usize, iw0: i32, stride: i32, width: i32, length: i32, dst: usize): void {
  const last = iw0 + (length - 1) * stride;
  if (iw0 >= 0 && last < width) {
    const src = row + (<usize>iw0 << 2);
    if (stride == 1) {
      let i = 0;
      for (; i + 4 <= length; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
      for (; i < length; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
      return;
    }
    if (stride == 2) {
      // Even lanes of two vectors: the stride-2 row read costs two loads and a shuffle per 4 values.
      let i = 0;
      for (; i + 4 <= length && iw0 + 2 * i + 8 <= width; i += 4) {
        const s = src + (<usize>i << 3);
        v128.store(dst + (<usize>i << 2), v128.shuffle<f32>(v128.load(s), v128.load(s, 16), 0, 2, 4, 6));
      }
      for (; i < length; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 3)));
      return;
    }
    for (let i = 0; i < length; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>(i * stride) << 2)));
    return;
  }
  for (let i = 0; i < length; i++) {
    const iw = iw0 + i * stride;
    store<f32>(dst + (<usize>i << 2), <u32>iw < <u32>width ? load<f32>(row + (<usize>iw << 2)) : 0);
  }
}

@inline function fillZero(dst: usize, length: i32): void {
  let i = 0;
  const zero = f32x4.splat(0);
  for (; i + 4 <= length; i += 4) v128.store(dst + (<usize>i << 2), zero);
  for (; i < length; i++) store<f32>(dst + (<usize>i << 2), 0);
}
