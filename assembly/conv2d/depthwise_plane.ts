// Depthwise plane kernels: out[i,j] (+)= b + Σ xp[i·sh + kh·dh, j·sw + kw·dw]·w[kh,kw], dw[kh,kw] (+)= Σ dy[i,j]·xp[…], and their zero-padded planes.

import { madd, horizontalSum } from "../simd";

// Every plane here is read from a zero-padded copy (rows of rowStride floats, wide enough for the
// vector over-read at the right edge), so the inner loops have no bounds checks at all.

/** Row stride (floats) of a padded copy of an H × W plane that plane kernels with these parameters can over-read. */
export function paddedRowStride(width: i32, padLeft: i32, padRight: i32, outWidth: i32, stride: i32, kernelWidth: i32, dilation: i32): i32 {
  const needed = (((outWidth + 7) & ~7) + 1) * stride + (kernelWidth - 1) * dilation;
  return (max(width + padLeft + padRight, needed) + 3) & ~3;
}

/**
 * Copies an H × W plane into dst (rows × rowStride floats) at (padTop, padLeft), zeros around it.
 * Plain vector loops: V8 runs memory.copy and memory.fill as calls out of wasm, too costly per row.
 */
export function padPlane(src: usize, H: i32, W: i32, padTop: i32, rows: i32, padLeft: i32, rowStride: i32, dst: usize): void {
  const rowBytes = <usize>rowStride << 2;
  const zero = f32x4.splat(0);
  for (let r = 0; r < rows; r++) {
    const row = dst + <usize>r * rowBytes;
    const ih = r - padTop;
    if (<u32>ih >= <u32>H) {
      for (let j = 0; j < rowStride; j += 4) v128.store(row + (<usize>j << 2), zero);
      continue;
    }
    let j = 0;
    for (; j + 4 <= padLeft; j += 4) v128.store(row + (<usize>j << 2), zero);
    for (; j < padLeft; j++) store<f32>(row + (<usize>j << 2), 0);
    const from = src + (<usize>(ih * W) << 2);
    const to = row + (<usize>padLeft << 2);
    let i = 0;
    for (; i + 4 <= W; i += 4) v128.store(to + (<usize>i << 2), v128.load(from + (<usize>i << 2)));
    for (; i < W; i++) store<f32>(to + (<usize>i << 2), load<f32>(from + (<usize>i << 2)));
    for (j = padLeft + W; j < rowStride; j++) store<f32>(row + (<usize>j << 2), 0);
  }
}

/**
 * Eight output pixels at a time (two vectors), then four, then a masked remainder; with accumulate
 * the plane adds onto out, else starts at bias. The stride is made a constant for the inner loops
 * (1 and 2 get their own inlined copies), so no branch on it remains inside them.
 */
export function depthwisePlane(
  xp: usize, rowStride: i32, w: usize, KH: i32, KW: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32,
  outHeight: i32, outWidth: i32, bias: f32, out: usize, accumulate: bool,
): void {
  if (strideW == 1) {
    planeSweep(xp, rowStride, w, KH, KW, strideH, 1, dilationH, dilationW, outHeight, outWidth, bias, out, accumulate);
  } else if (strideW == 2) {
    planeSweep(xp, rowStride, w, KH, KW, strideH, 2, dilationH, dilationW, outHeight, outWidth, bias, out, accumulate);
  } else {
    planeSweep(xp, rowStride, w, KH, KW, strideH, strideW, dilationH, dilationW, outHeight, outWidth, bias, out, accumulate);
  }
}

@inline function planeSweep(
  xp: usize, rowStride: i32, w: usize, KH: i32, KW: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32,
  outHeight: i32, outWidth: i32, bias: f32, out: usize, accumulate: bool,
): void {
  const rowBytes = <usize>rowStride << 2;
  const strideBytes = <usize>strideW << 2;
  const dilationBytes = <usize>dilationW << 2;
  const dilationRowBytes = <usize>dilationH * rowBytes;
  const start = f32x4.splat(bias);
  for (let oh = 0; oh < outHeight; oh++) {
    const inRow = xp + <usize>(oh * strideH) * rowBytes;
    const outRow = out + (<usize>(oh * outWidth) << 2);
    let ow = 0;
    for (; ow + 8 <= outWidth; ow += 8) {
      const dst = outRow + (<usize>ow << 2);
      let a0 = start, a1 = start;
      if (accumulate) {
        a0 = v128.load(dst);
        a1 = v128.load(dst, 16);
      }
      let tap = w;
      let row = inRow + <usize>ow * strideBytes;
      for (let kh = 0; kh < KH; kh++) {
        let src = row;
        for (let kw = 0; kw < KW; kw++) {
          const weight = v128.load32_splat(tap);
          a0 = madd(weight, loadStrided(src, strideW), a0);
          a1 = madd(weight, loadStrided(src + (strideBytes << 2), strideW), a1);
          src += dilationBytes;
          tap += 4;
        }
        row += dilationRowBytes;
      }
      v128.store(dst, a0);
      v128.store(dst, a1, 16);
    }
    for (; ow < outWidth; ow += 4) {
      const dst = outRow + (<usize>ow << 2);
      const count = outWidth - ow;
      let a0 = start;
      if (accumulate) a0 = count >= 4 ? v128.load(dst) : loadPartial(dst, count);
      let tap = w;
      let row = inRow + <usize>ow * strideBytes;
      for (let kh = 0; kh < KH; kh++) {
        let src = row;
        for (let kw = 0; kw < KW; kw++) {
          a0 = madd(v128.load32_splat(tap), loadStrided(src, strideW), a0);
          src += dilationBytes;
          tap += 4;
        }
        row += dilationRowBytes;
      }
      if (count >= 4) v128.store(dst, a0);
      else storePartial(dst, a0, count);
    }
  }
}

/** dw[kh,kw] (+)= Σ_{i,j} dy[i,j]·xp[i·sh + kh·dh, j·sw + kw·dw]: one dot product per tap, four lanes × four accumulators. */
export function depthwiseFilterPlane(
  xp: usize, rowStride: i32, dy: usize, outHeight: i32, outWidth: i32, KH: i32, KW: i32,
  strideH: i32, strideW: i32, dilationH: i32, dilationW: i32, dw: usize, accumulate: bool,
): void {
  if (strideW == 1) {
    filterSweep(xp, rowStride, dy, outHeight, outWidth, KH, KW, strideH, 1, dilationH, dilationW, dw, accumulate);
  } else if (strideW == 2) {
    filterSweep(xp, rowStride, dy, outHeight, outWidth, KH, KW, strideH, 2, dilationH, dilationW, dw, accumulate);
  } else {
    filterSweep(xp, rowStride, dy, outHeight, outWidth, KH, KW, strideH, strideW, dilationH, dilationW, dw, accumulate);
  }
}

@inline function filterSweep(
  xp: usize, rowStride: i32, dy: usize, outHeight: i32, outWidth: i32, KH: i32, KW: i32,
  strideH: i32, strideW: i32, dilationH: i32, dilationW: i32, dw: usize, accumulate: bool,
): void {
  const rowBytes = <usize>rowStride << 2;
  const strideBytes = <usize>strideW << 2;
  const vectorEnd = outWidth & ~3;
  let target = dw;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      let tail: f32 = 0;
      for (let oh = 0; oh < outHeight; oh++) {
        const row = xp + <usize>(oh * strideH + kh * dilationH) * rowBytes + (<usize>(kw * dilationW) << 2);
        const d = dy + (<usize>(oh * outWidth) << 2);
        let ow = 0;
        for (; ow + 16 <= outWidth; ow += 16) {
          const x = row + <usize>ow * strideBytes;
          const e = d + (<usize>ow << 2);
          s0 = madd(v128.load(e), loadStrided(x, strideW), s0);
          s1 = madd(v128.load(e, 16), loadStrided(x + (strideBytes << 2), strideW), s1);
          s2 = madd(v128.load(e, 32), loadStrided(x + (strideBytes << 3), strideW), s2);
          s3 = madd(v128.load(e, 48), loadStrided(x + strideBytes * 12, strideW), s3);
        }
        for (; ow < vectorEnd; ow += 4) {
          s0 = madd(v128.load(d + (<usize>ow << 2)), loadStrided(row + <usize>ow * strideBytes, strideW), s0);
        }
        for (; ow < outWidth; ow++) {
          tail += load<f32>(d + (<usize>ow << 2)) * load<f32>(row + <usize>ow * strideBytes);
        }
      }
      const sum = horizontalSum(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3))) + tail;
      store<f32>(target, accumulate ? load<f32>(target) + sum : sum);
      target += 4;
    }
  }
}

/** dxp[i·sh + kh·dh, j·sw + kw·dw] += dy[i,j]·w[kh,kw] on a zero-padded plane: the adjoint of depthwisePlane. */
export function depthwiseScatterPlane(
  dy: usize, outHeight: i32, outWidth: i32, w: usize, KH: i32, KW: i32,
  strideH: i32, strideW: i32, dilationH: i32, dilationW: i32, dxp: usize, rowStride: i32,
): void {
  const rowBytes = <usize>rowStride << 2;
  for (let oh = 0; oh < outHeight; oh++) {
    const d = dy + (<usize>(oh * outWidth) << 2);
    for (let kh = 0; kh < KH; kh++) {
      for (let kw = 0; kw < KW; kw++) {
        const weight = load<f32>(w + (<usize>(kh * KW + kw) << 2));
        const row = dxp + <usize>(oh * strideH + kh * dilationH) * rowBytes + (<usize>(kw * dilationW) << 2);
        let ow = 0;
        if (strideW == 1) {
          const wv = f32x4.splat(weight);
          for (; ow + 4 <= outWidth; ow += 4) {
            const o = <usize>ow << 2;
            v128.store(row + o, madd(wv, v128.load(d + o), v128.load(row + o)));
          }
        }
        for (; ow < outWidth; ow++) {
          const target = row + (<usize>(ow * strideW) << 2);
          store<f32>(target, load<f32>(target) + weight * load<f32>(d + (<usize>ow << 2)));
        }
      }
    }
  }
}

// Four values src[0], src[s], src[2s], src[3s] as a vector.
@inline function loadStrided(src: usize, stride: i32): v128 {
  if (stride == 1) return v128.load(src);
  if (stride == 2) return v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6);
  const step = <usize>stride << 2;
  let v = f32x4.splat(load<f32>(src));
  v = f32x4.replace_lane(v, 1, load<f32>(src + step));
  v = f32x4.replace_lane(v, 2, load<f32>(src + step * 2));
  return f32x4.replace_lane(v, 3, load<f32>(src + step * 3));
}

@inline function loadPartial(src: usize, count: i32): v128 {
  let v = f32x4.splat(0);
  if (count > 0) v = f32x4.replace_lane(v, 0, load<f32>(src));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(src, 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(src, 8));
  if (count > 3) v = f32x4.replace_lane(v, 3, load<f32>(src, 12));
  return v;
}

@inline function storePartial(dst: usize, v: v128, count: i32): void {
  if (count > 0) store<f32>(dst, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(dst, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(dst, f32x4.extract_lane(v, 2), 8);
  if (count > 3) store<f32>(dst, f32x4.extract_lane(v, 3), 12);
}
