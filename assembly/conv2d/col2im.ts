// dx[c, oh·sh − pt + kh·dh, ow·sw − pl + kw·dw] += dcol[(c·KH + kh)·KW + kw, oh·Wo + ow], dropping what lands in the padding.

import { ConvGeometry } from "../geometry";
import { firstInside, lastInsideEnd } from "./im2col";

// The adjoint of im2col: dx must be zeroed (or hold what it should accumulate onto) before the call.
export function col2im(g: ConvGeometry, dcol: usize, channels: i32, dx: usize): void {
  const H = g.inHeight, W = g.inWidth;
  const outHeight = g.outHeight, outWidth = g.outWidth;
  const strideH = g.strideHeight, strideW = g.strideWidth;
  const rowBytes = <usize>outWidth << 2;
  let src = dcol;
  for (let c = 0; c < channels; c++) {
    const plane = dx + (<usize>(c * H * W) << 2);
    for (let kh = 0; kh < g.kernelHeight; kh++) {
      const rowOffset = kh * g.dilationHeight - g.padTop;
      for (let kw = 0; kw < g.kernelWidth; kw++) {
        const columnOffset = kw * g.dilationWidth - g.padLeft;
        const begin = firstInside(columnOffset, strideW, outWidth);
        const end = max(begin, lastInsideEnd(columnOffset, strideW, W, outWidth));
        for (let oh = 0; oh < outHeight; oh++) {
          const ih = oh * strideH + rowOffset;
          if (<u32>ih < <u32>H) {
            const dst = plane + (<usize>(ih * W + columnOffset) << 2);
            if (strideW == 1) {
              addContiguous(dst + (<usize>begin << 2), src + (<usize>begin << 2), end - begin);
            } else {
              for (let ow = begin; ow < end; ow++) {
                const d = dst + (<usize>(ow * strideW) << 2);
                store<f32>(d, load<f32>(d) + load<f32>(src + (<usize>ow << 2)));
              }
            }
          }
          src += rowBytes;
        }
      }
    }
  }
}

@inline function addContiguous(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const o = <usize>i << 2;
    v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
  }
  for (; i < count; i++) {
    const o = <usize>i << 2;
    store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}
