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
 * Each padded row is written as whole aligned vectors, left to right: the sweep that follows reads
 * them back at once, and vectors stitched from scalar stores could not be forwarded to its loads.
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
    const from = src + (<usize>(ih * W) << 2);
    // Whole vectors: the left edge (lanes that straddle the padding), the interior (plain copies),
    // then the right edge and the zero tail.
    const interiorStart = (padLeft + 3) & ~3;
    const interiorEnd = max(interiorStart, ((padLeft + W) & ~3));
    let j = 0;
    for (; j < interiorStart; j += 4) v128.store(row + (<usize>j << 2), edgeVector(from, j - padLeft, W));
    for (; j < interiorEnd; j += 4) v128.store(row + (<usize>j << 2), v128.load(from + (<usize>(j - padLeft) << 2)));
    for (; j < rowStride; j += 4) v128.store(row + (<usize>j << 2), edgeVector(from, j - padLeft, W));
  }
}

// Lanes i … i + 3 of a row of width W, 0 where outside it.
@inline function edgeVector(from: usize, i: i32, W: i32): v128 {
  let v = f32x4.splat(0);
  if (<u32>i < <u32>W) v = f32x4.replace_lane(v, 0, load<f32>(from + (<usize>i << 2)));
  if (<u32>(i + 1) < <u32>W) v = f32x4.replace_lane(v, 1, load<f32>(from + (<usize>(i + 1) << 2)));
  if (<u32>(i + 2) < <u32>W) v = f32x4.replace_lane(v, 2, load<f32>(from + (<usize>(i + 2) << 2)));
  if (<u32>(i + 3) < <u32>W) v = f32x4.replace_lane(v, 3, load<f32>(from + (<usize>(i + 3) << 2)));
  return v;
}

/**
 * Eight output pixels at a time (two vectors) over ROWS rows, then narrower and shorter tiles at the
 * edges; with accumulate the plane adds onto out, else starts at bias. Each tile shape and stride
 * (1, 2, any) is its own small function: inlined into one large function, V8 ran out of registers
 * and spilled the accumulators (a third of the speed).
 */
export function depthwisePlane(
  xp: usize, rowStride: i32, w: usize, KH: i32, KW: i32, strideH: i32, strideW: i32, dilationH: i32, dilationW: i32,
  outHeight: i32, outWidth: i32, bias: f32, out: usize, accumulate: bool, args: usize,
): void {
  const rowBytes = <usize>rowStride << 2;
  const strideBytes = <usize>strideW << 2;
  const dilationBytes = <usize>dilationW << 2;
  const dilationRowBytes = <usize>dilationH * rowBytes;
  const rowStep = <usize>strideH * rowBytes;
  const outRowBytes = <usize>outWidth << 2;
  const t = changetype<SweepTile>(args);
  t.rowStep = rowStep;
  t.w = w;
  t.KH = KH;
  t.KW = KW;
  t.strideW = strideW;
  t.dilationBytes = dilationBytes;
  t.dilationRowBytes = dilationRowBytes;
  t.bias = bias;
  t.outRowBytes = outRowBytes;
  t.accumulate = accumulate;
  // Several output rows at a time: with six independent accumulators the multiply-adds overlap
  // their 4-cycle latency instead of waiting on it.
  let oh = 0;
  for (; oh + ROWS <= outHeight; oh += ROWS) {
    const inRow = xp + <usize>oh * rowStep;
    const outRow = out + <usize>oh * outRowBytes;
    let ow = 0;
    for (; ow + 8 <= outWidth; ow += 8) tile(t, inRow + <usize>ow * strideBytes, outRow + (<usize>ow << 2), ROWS, 2, 8);
    for (; ow < outWidth; ow += 4) tile(t, inRow + <usize>ow * strideBytes, outRow + (<usize>ow << 2), ROWS, 1, outWidth - ow);
  }
  for (; oh < outHeight; oh++) {
    const inRow = xp + <usize>oh * rowStep;
    const outRow = out + <usize>oh * outRowBytes;
    let ow = 0;
    for (; ow + 8 <= outWidth; ow += 8) tile(t, inRow + <usize>ow * strideBytes, outRow + (<usize>ow << 2), 1, 2, 8);
    for (; ow < outWidth; ow += 4) tile(t, inRow + <usize>ow * strideBytes, outRow + (<usize>ow << 2), 1, 1, outWidth - ow);
  }
}

// Output rows per tile: three rows of two vectors are six accumulators, which with their six loads
// and the broadcast weight fit V8's 16 vector registers; four rows spilled one accumulator to the
// stack, whose store-to-load round trip then set the pace (10 cycles a tap).
const ROWS = 3;

// What every tile of one plane shares, passed by pointer (SWEEP_ARGUMENTS_BYTES of the caller's
// work memory: each thread its own): the tile functions keep their registers for accumulators
// instead of a dozen arguments.
@unmanaged class SweepTile {
  rowStep: usize;
  w: usize;
  KH: i32;
  KW: i32;
  strideW: i32;
  dilationBytes: usize;
  dilationRowBytes: usize;
  bias: f32;
  outRowBytes: usize;
  accumulate: bool;
}
export const SWEEP_ARGUMENTS_BYTES: usize = 64;

@inline function tile(t: SweepTile, src: usize, dst: usize, rows: i32, vectors: i32, count: i32): void {
  const stride = t.strideW;
  if (rows == ROWS && vectors == 2) {
    if (stride == 1) tile3x2s1(t, src, dst);
    else if (stride == 2) tile3x2s2(t, src, dst);
    else tile3x2(t, src, dst);
  } else if (rows == ROWS) {
    if (stride == 1) tile3x1s1(t, src, dst, count);
    else if (stride == 2) tile3x1s2(t, src, dst, count);
    else tile3x1(t, src, dst, count);
  } else if (vectors == 2) {
    if (stride == 1) tile1x2s1(t, src, dst);
    else if (stride == 2) tile1x2s2(t, src, dst);
    else tile1x2(t, src, dst);
  } else {
    if (stride == 1) tile1x1s1(t, src, dst, count);
    else if (stride == 2) tile1x1s2(t, src, dst, count);
    else tile1x1(t, src, dst, count);
  }
}

function tile3x2s1(t: SweepTile, src: usize, dst: usize): void { sweepTile(t, src, dst, ROWS, 2, 8, 1); }
function tile3x2s2(t: SweepTile, src: usize, dst: usize): void { sweepTile(t, src, dst, ROWS, 2, 8, 2); }
function tile3x2(t: SweepTile, src: usize, dst: usize): void { sweepTile(t, src, dst, ROWS, 2, 8, t.strideW); }
function tile3x1s1(t: SweepTile, src: usize, dst: usize, count: i32): void { sweepTile(t, src, dst, ROWS, 1, count, 1); }
function tile3x1s2(t: SweepTile, src: usize, dst: usize, count: i32): void { sweepTile(t, src, dst, ROWS, 1, count, 2); }
function tile3x1(t: SweepTile, src: usize, dst: usize, count: i32): void { sweepTile(t, src, dst, ROWS, 1, count, t.strideW); }
function tile1x2s1(t: SweepTile, src: usize, dst: usize): void { sweepTile(t, src, dst, 1, 2, 8, 1); }
function tile1x2s2(t: SweepTile, src: usize, dst: usize): void { sweepTile(t, src, dst, 1, 2, 8, 2); }
function tile1x2(t: SweepTile, src: usize, dst: usize): void { sweepTile(t, src, dst, 1, 2, 8, t.strideW); }
function tile1x1s1(t: SweepTile, src: usize, dst: usize, count: i32): void { sweepTile(t, src, dst, 1, 1, count, 1); }
function tile1x1s2(t: SweepTile, src: usize, dst: usize, count: i32): void { sweepTile(t, src, dst, 1, 1, count, 2); }
function tile1x1(t: SweepTile, src: usize, dst: usize, count: i32): void { sweepTile(t, src, dst, 1, 1, count, t.strideW); }

// rows (1 or 4) × vectors (1 or 2) of output, all taps; inlined with constant rows, vectors and
// (mostly) stride, so unused accumulators and branches vanish. count < 4 only for a last single
// vector (a masked store).
@inline function sweepTile(t: SweepTile, src: usize, dst: usize, rows: i32, vectors: i32, count: i32, strideW: i32): void {
  const rowStep = t.rowStep, outRowBytes = t.outRowBytes;
  const dilationBytes = t.dilationBytes, dilationRowBytes = t.dilationRowBytes;
  const KH = t.KH, KW = t.KW;
  const second = <usize>strideW << 4; // the second vector starts four pixels on
  const start = f32x4.splat(t.bias);
  let a00 = start, a01 = start, a10 = start, a11 = start, a20 = start, a21 = start;
  if (t.accumulate) {
    a00 = loadOutput(dst, count);
    if (vectors == 2) a01 = v128.load(dst, 16);
    if (rows >= 2) {
      a10 = loadOutput(dst + outRowBytes, count);
      if (vectors == 2) a11 = v128.load(dst + outRowBytes, 16);
    }
    if (rows == 3) {
      a20 = loadOutput(dst + outRowBytes * 2, count);
      if (vectors == 2) a21 = v128.load(dst + outRowBytes * 2, 16);
    }
  }
  let tap = t.w;
  let row = src;
  for (let kh = 0; kh < KH; kh++) {
    let s = row;
    for (let kw = 0; kw < KW; kw++) {
      const weight = v128.load32_splat(tap);
      a00 = madd(weight, loadStrided(s, strideW), a00);
      if (vectors == 2) a01 = madd(weight, loadStrided(s + second, strideW), a01);
      if (rows >= 2) {
        a10 = madd(weight, loadStrided(s + rowStep, strideW), a10);
        if (vectors == 2) a11 = madd(weight, loadStrided(s + rowStep + second, strideW), a11);
      }
      if (rows == 3) {
        a20 = madd(weight, loadStrided(s + rowStep * 2, strideW), a20);
        if (vectors == 2) a21 = madd(weight, loadStrided(s + rowStep * 2 + second, strideW), a21);
      }
      s += dilationBytes;
      tap += 4;
    }
    row += dilationRowBytes;
  }
  storeOutput(dst, a00, count);
  if (vectors == 2) v128.store(dst, a01, 16);
  if (rows >= 2) {
    storeOutput(dst + outRowBytes, a10, count);
    if (vectors == 2) v128.store(dst + outRowBytes, a11, 16);
  }
  if (rows == 3) {
    storeOutput(dst + outRowBytes * 2, a20, count);
    if (vectors == 2) v128.store(dst + outRowBytes * 2, a21, 16);
  }
}

@inline function loadOutput(src: usize, count: i32): v128 {
  return count >= 4 ? v128.load(src) : loadPartial(src, count);
}

@inline function storeOutput(dst: usize, v: v128, count: i32): void {
  if (count >= 4) v128.store(dst, v);
  else storePartial(dst, v, count);
}

/** dw[kh,kw] (+)= Σ_{i,j} dy[i,j]·xp[i·sh + kh·dh, j·sw + kw·dw]: one dot product per tap, four lanes × four accumulators. */
export function depthwiseDwPlane(
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
  const rowStep = <usize>strideH * rowBytes;
  const outRowBytes = <usize>outWidth << 2;
  let target = dw;
  for (let kh = 0; kh < KH; kh++) {
    for (let kw = 0; kw < KW; kw++) {
      // Two rows at a time into eight accumulators, so the dot product's multiply-adds overlap.
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      let s4 = f32x4.splat(0), s5 = f32x4.splat(0), s6 = f32x4.splat(0), s7 = f32x4.splat(0);
      let tail: f32 = 0;
      const tapBase = xp + <usize>(kh * dilationH) * rowBytes + (<usize>(kw * dilationW) << 2);
      let oh = 0;
      for (; oh < outHeight; oh += 2) {
        const pair = oh + 1 < outHeight;
        const x0 = tapBase + <usize>oh * rowStep, x1 = x0 + rowStep;
        const d0 = dy + <usize>oh * outRowBytes, d1 = d0 + outRowBytes;
        let ow = 0;
        for (; ow + 8 <= outWidth; ow += 8) {
          const xo = <usize>ow * strideBytes, o = <usize>ow << 2;
          s0 = madd(v128.load(d0 + o), loadStrided(x0 + xo, strideW), s0);
          s1 = madd(v128.load(d0 + o, 16), loadStrided(x0 + xo + (strideBytes << 2), strideW), s1);
          if (pair) {
            s2 = madd(v128.load(d1 + o), loadStrided(x1 + xo, strideW), s2);
            s3 = madd(v128.load(d1 + o, 16), loadStrided(x1 + xo + (strideBytes << 2), strideW), s3);
          }
        }
        for (; ow + 4 <= outWidth; ow += 4) {
          const xo = <usize>ow * strideBytes, o = <usize>ow << 2;
          s4 = madd(v128.load(d0 + o), loadStrided(x0 + xo, strideW), s4);
          if (pair) s5 = madd(v128.load(d1 + o), loadStrided(x1 + xo, strideW), s5);
        }
        for (; ow < outWidth; ow++) {
          tail += load<f32>(d0 + (<usize>ow << 2)) * load<f32>(x0 + <usize>ow * strideBytes);
          if (pair) tail += load<f32>(d1 + (<usize>ow << 2)) * load<f32>(x1 + <usize>ow * strideBytes);
        }
      }
      const sum = horizontalSum(f32x4.add(f32x4.add(f32x4.add(s0, s1), f32x4.add(s2, s3)), f32x4.add(f32x4.add(s4, s5), f32x4.add(s6, s7)))) + tail;
      store<f32>(target, accumulate ? load<f32>(target) + sum : sum);
      target += 4;
    }
  }
}

/** dxp[i·sh + kh·dh, j·sw + kw·dw] += dy[i,j]·w[kh,kw] on a zero-padded plane: the adjoint of depthwisePlane. */
export function depthwiseDxScatterPlane(
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
