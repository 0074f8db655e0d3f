// col[(c·KH + kh)·KW + kw, oh·Wo + ow] = x[c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw], 0 where that falls in the padding.

import { ConvGeometry } from "../geometry";

// x points at one image's first channel of a group; col holds (channels·KH·KW) rows of Ho·Wo.
export function im2col(g: ConvGeometry, x: usize, channels: i32, col: usize): void {
  const H = g.inHeight, W = g.inWidth;
  const outHeight = g.outHeight, outWidth = g.outWidth;
  const strideH = g.strideHeight, strideW = g.strideWidth;
  const rowBytes = <usize>outWidth << 2;
  let dst = col;
  for (let c = 0; c < channels; c++) {
    const plane = x + (<usize>(c * H * W) << 2);
    for (let kh = 0; kh < g.kernelHeight; kh++) {
      const rowOffset = kh * g.dilationHeight - g.padTop;
      for (let kw = 0; kw < g.kernelWidth; kw++) {
        const columnOffset = kw * g.dilationWidth - g.padLeft;
        const begin = firstInside(columnOffset, strideW, outWidth);
        const end = max(begin, lastInsideEnd(columnOffset, strideW, W, outWidth));
        for (let oh = 0; oh < outHeight; oh++) {
          const ih = oh * strideH + rowOffset;
          if (<u32>ih >= <u32>H) {
            memory.fill(dst, 0, rowBytes);
          } else {
            const src = plane + (<usize>(ih * W + columnOffset) << 2);
            memory.fill(dst, 0, <usize>begin << 2);
            if (strideW == 1) {
              memory.copy(dst + (<usize>begin << 2), src + (<usize>begin << 2), <usize>(end - begin) << 2);
            } else {
              for (let ow = begin; ow < end; ow++) {
                store<f32>(dst + (<usize>ow << 2), load<f32>(src + (<usize>(ow * strideW) << 2)));
              }
            }
            memory.fill(dst + (<usize>end << 2), 0, <usize>(outWidth - end) << 2);
          }
          dst += rowBytes;
        }
      }
    }
  }
}

// First output column whose input column ow·stride + offset is ≥ 0.
@inline export function firstInside(offset: i32, stride: i32, outSize: i32): i32 {
  if (offset >= 0) return 0;
  return min(outSize, (stride - 1 - offset) / stride);
}

// One past the last output column whose input column ow·stride + offset is < size.
@inline export function lastInsideEnd(offset: i32, stride: i32, size: i32, outSize: i32): i32 {
  const last = size - 1 - offset;
  if (last < 0) return 0;
  return min(outSize, last / stride + 1);
}
