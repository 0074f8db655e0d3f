// col2im for one tile: dxp[c, oh·sh + kh·dh, ow·sw + kw·dw] += tile[r][lane] for 4 taps × 8 pixels; padding dropped.

import { ConvGeometry } from "../geometry";

// The adjoint of gatherPanel: tile row r is tap tap0 + r (rows past tap1 are ignored), lane l is
// output pixel p0 + l (lanes past count are ignored). dx points at the group's first channel of one image.
export function scatterTile(g: ConvGeometry, tile: usize, tap0: i32, tap1: i32, p0: i32, count: i32, dx: usize): void {
  const outWidth = g.outWidth;
  let lane = 0;
  let p = p0;
  while (lane < count) {
    const oh = p / outWidth;
    const ow = p - oh * outWidth;
    const length = min(count - lane, outWidth - ow);
    scatterSegment(g, tile + (<usize>lane << 2), tap0, tap1, oh, ow, length, dx);
    lane += length;
    p += length;
  }
}

@inline function scatterSegment(
  g: ConvGeometry, src: usize, tap0: i32, tap1: i32, oh: i32, ow: i32, length: i32, dx: usize,
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
    if (<u32>ih < <u32>H) {
      const iw0 = columnBase + kw * g.dilationWidth;
      addStrided(dx + (<usize>((c * H + ih) * W) << 2), iw0, strideW, W, length, src);
    }
    src += 32;
    if (++kw == KW) {
      kw = 0;
      if (++kh == KH) {
        kh = 0;
        c++;
      }
    }
  }
}

// row[iw0 + i·stride] += src[i] where 0 ≤ that < width.
@inline function addStrided(row: usize, iw0: i32, stride: i32, width: i32, length: i32, src: usize): void {
  const last = iw0 + (length - 1) * stride;
  if (stride == 1 && iw0 >= 0 && last < width) {
    const dst = row + (<usize>iw0 << 2);
    let i = 0;
    for (; i + 4 <= length; i += 4) {
      const o = <usize>i << 2;
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
    for (; i < length; i++) {
      const o = <usize>i << 2;
      store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
    }
    return;
  }
  for (let i = 0; i < length; i++) {
    const iw = iw0 + i * stride;
    if (<u32>iw < <u32>width) {
      const d = row + (<usize>iw << 2);
      store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>i << 2)));
    }
  }
}
