// 2-D pooling of planes [P, H, W] → [P, Ho, Wo]: max (with dilation) and average over strided windows, and adaptive average; each forward and backward.

// Windows start at (oh·sH − pH, ow·sW − pW) and are clipped to the input (max) or to the padded input
// (average's divisor, PyTorch's count_include_pad rule). Where a whole run of four outputs has its
// windows inside the input (the interior, almost every output) they are computed together, one
// vector lane each, with no bounds; the rest, near the edges, one at a time. Max follows PyTorch's
// order and rule: the window is scanned row by row and a value replaces the best so far when it is
// greater or NaN, so the first maximum wins ties, NaN wins over numbers (the last NaN, its index); backward recomputes that
// argmax and adds dy there (windows may overlap: dx is zeroed first and the adds go in output order).

// Four values src[0], src[s], src[2s], src[3s].
@inline function loadStrided(src: usize, stride: i32): v128 {
  if (stride == 1) return v128.load(src);
  if (stride == 2) return v128.shuffle<f32>(v128.load(src), v128.load(src, 16), 0, 2, 4, 6);
  const step = <usize>stride << 2;
  let v = f32x4.splat(load<f32>(src));
  v = f32x4.replace_lane(v, 1, load<f32>(src + step));
  v = f32x4.replace_lane(v, 2, load<f32>(src + step * 2));
  return f32x4.replace_lane(v, 3, load<f32>(src + step * 3));
}

/** dx[at[l]] += g[l] for the four lanes, in lane order. */
@inline function addLanes(dx: usize, at: v128, g: v128): void {
  let target = dx + (<usize>i32x4.extract_lane(at, 0) << 2);
  store<f32>(target, load<f32>(target) + f32x4.extract_lane(g, 0));
  target = dx + (<usize>i32x4.extract_lane(at, 1) << 2);
  store<f32>(target, load<f32>(target) + f32x4.extract_lane(g, 1));
  target = dx + (<usize>i32x4.extract_lane(at, 2) << 2);
  store<f32>(target, load<f32>(target) + f32x4.extract_lane(g, 2));
  target = dx + (<usize>i32x4.extract_lane(at, 3) << 2);
  store<f32>(target, load<f32>(target) + f32x4.extract_lane(g, 3));
}

/** The outputs [lo, hi) along one axis whose windows lie inside [0, size): the interior. */
@inline function interiorStart(pad: i32, stride: i32): i32 {
  return (pad + stride - 1) / stride;
}

@inline function interiorEnd(size: i32, pad: i32, stride: i32, span: i32, out: i32): i32 {
  const last = size - span + pad; // the largest window start (in padded coordinates) that still fits
  return last < 0 ? 0 : min(out, last / stride + 1);
}

/** Scalar max over one clipped window; returns the best value and leaves its flat index in pickedIndex. */
let pickedIndex: i32 = 0;

@inline function windowMax(plane: usize, W: i32, ih0: i32, iw0: i32, KH: i32, KW: i32, dH: i32, dW: i32, H: i32): f32 {
  let best: f32 = -Infinity;
  let index = -1;
  for (let kh = 0; kh < KH; kh++) {
    const ih = ih0 + kh * dH;
    if (<u32>ih >= <u32>H) continue;
    for (let kw = 0; kw < KW; kw++) {
      const iw = iw0 + kw * dW;
      if (<u32>iw >= <u32>W) continue;
      const v = load<f32>(plane + (<usize>(ih * W + iw) << 2));
      if (index < 0 || v > best || v != v) {
        best = v;
        index = ih * W + iw;
      }
    }
  }
  pickedIndex = index;
  return best;
}

/** y[p, oh, ow] = max over the window (dilation dH, dW); with argmax (not 0), also its flat index in the plane, for backward. */
function maxPlane(
  x: usize, y: usize, H: i32, W: i32, outH: i32, outW: i32, KH: i32, KW: i32, sH: i32, sW: i32, pH: i32, pW: i32, dH: i32, dW: i32,
  dx: usize, dy: usize,
): void {
  const spanH = dH * (KH - 1) + 1, spanW = dW * (KW - 1) + 1;
  const hLo = interiorStart(pH, sH), hHi = interiorEnd(H, pH, sH, spanH, outH);
  const wLo = interiorStart(pW, sW), wHi = interiorEnd(W, pW, sW, spanW, outW);
  const backward = dx != 0;
  for (let oh = 0; oh < outH; oh++) {
    const ih0 = oh * sH - pH;
    const rowInside = oh >= hLo && oh < hHi;
    let ow = 0;
    while (ow < outW) {
      if (rowInside && ow >= wLo && ow + 4 <= wHi) {
        // Four outputs at once: lane l is output ow + l, its window at columns (ow + l)·sW − pW + kw·dW.
        const base = x + (<usize>(ih0 * W + ow * sW - pW) << 2);
        let best = f32x4.splat(0);
        let index = i32x4.splat(0);
        for (let kh = 0; kh < KH; kh++) {
          for (let kw = 0; kw < KW; kw++) {
            const offset = kh * dH * W + kw * dW;
            const v = loadStrided(base + (<usize>offset << 2), sW);
            if (kh == 0 && kw == 0) {
              best = v;
              index = i32x4.splat(offset);
            } else {
              // Greater, or NaN (PyTorch's rule: the last NaN of a window is its argmax).
              const take = v128.or(f32x4.gt(v, best), f32x4.ne(v, v));
              best = v128.bitselect(v, best, take);
              index = v128.bitselect(i32x4.splat(offset), index, take);
            }
          }
        }
        if (!backward) {
          v128.store(y + (<usize>(oh * outW + ow) << 2), best);
        } else {
          const first = ih0 * W + ow * sW - pW;
          const g = v128.load(dy + (<usize>(oh * outW + ow) << 2));
          const at = i32x4.add(index, i32x4(first, first + sW, first + 2 * sW, first + 3 * sW));
          // Lane by lane, in output order: neighbouring windows may share their maximum.
          addLanes(dx, at, g);
        }
        ow += 4;
        continue;
      }
      const value = windowMax(x, W, ih0, ow * sW - pW, KH, KW, dH, dW, H);
      if (!backward) {
        store<f32>(y + (<usize>(oh * outW + ow) << 2), value);
      } else if (pickedIndex >= 0) {
        const target = dx + (<usize>pickedIndex << 2);
        store<f32>(target, load<f32>(target) + load<f32>(dy + (<usize>(oh * outW + ow) << 2)));
      }
      ow++;
    }
  }
}

export function maxPool2dForward(
  x: usize, y: usize, planes: i32, H: i32, W: i32, outH: i32, outW: i32, KH: i32, KW: i32, sH: i32, sW: i32, pH: i32, pW: i32, dH: i32, dW: i32,
): void {
  const inPlane = <usize>(H * W) << 2, outPlane = <usize>(outH * outW) << 2;
  for (let p = 0; p < planes; p++) {
    maxPlane(x + <usize>p * inPlane, y + <usize>p * outPlane, H, W, outH, outW, KH, KW, sH, sW, pH, pW, dH, dW, 0, 0);
  }
}

/** dx (fully written): each dy at its window's argmax in x, summed where windows share one; 0 elsewhere. */
export function maxPool2dBackward(
  x: usize, dy: usize, dx: usize, planes: i32, H: i32, W: i32, outH: i32, outW: i32, KH: i32, KW: i32, sH: i32, sW: i32, pH: i32, pW: i32,
  dH: i32, dW: i32,
): void {
  const inPlane = <usize>(H * W) << 2, outPlane = <usize>(outH * outW) << 2;
  memory.fill(dx, 0, <usize>planes * inPlane);
  for (let p = 0; p < planes; p++) {
    maxPlane(x + <usize>p * inPlane, 0, H, W, outH, outW, KH, KW, sH, sW, pH, pW, dH, dW, dx + <usize>p * inPlane, dy + <usize>p * outPlane);
  }
}

// ---- average

/**
 * The divisor of output (oh, ow), PyTorch's: the window clipped to the padded input counts every
 * position with countIncludePad, only those inside the input without.
 */
@inline function averageDivisor(oh: i32, ow: i32, H: i32, W: i32, KH: i32, KW: i32, sH: i32, sW: i32, pH: i32, pW: i32, includePad: bool): f32 {
  let h0 = oh * sH - pH, w0 = ow * sW - pW;
  let h1 = min(h0 + KH, H + pH), w1 = min(w0 + KW, W + pW);
  const padded = (h1 - h0) * (w1 - w0);
  h0 = max(h0, 0);
  w0 = max(w0, 0);
  h1 = min(h1, H);
  w1 = min(w1, W);
  return <f32>(includePad ? padded : (h1 - h0) * (w1 - w0));
}

/** Average forward (dy = 0) or backward (dx += dy/divisor over each clipped window) of one plane. */
function averagePlane(
  x: usize, y: usize, H: i32, W: i32, outH: i32, outW: i32, KH: i32, KW: i32, sH: i32, sW: i32, pH: i32, pW: i32, includePad: bool,
  dx: usize, dy: usize,
): void {
  const hLo = interiorStart(pH, sH), hHi = interiorEnd(H, pH, sH, KH, outH);
  const wLo = interiorStart(pW, sW), wHi = interiorEnd(W, pW, sW, KW, outW);
  const backward = dx != 0;
  // Inside the input every window has KH·KW values, whatever countIncludePad says.
  const inverse = f32x4.splat(<f32>1 / <f32>(KH * KW));
  for (let oh = 0; oh < outH; oh++) {
    const ih0 = oh * sH - pH;
    const rowInside = oh >= hLo && oh < hHi;
    let ow = 0;
    while (ow < outW) {
      if (rowInside && ow >= wLo && ow + 4 <= wHi) {
        const base = ih0 * W + ow * sW - pW;
        if (!backward) {
          let sum = f32x4.splat(0);
          for (let kh = 0; kh < KH; kh++) {
            for (let kw = 0; kw < KW; kw++) sum = f32x4.add(sum, loadStrided(x + (<usize>(base + kh * W + kw) << 2), sW));
          }
          v128.store(y + (<usize>(oh * outW + ow) << 2), f32x4.mul(sum, inverse));
        } else {
          const g = f32x4.mul(v128.load(dy + (<usize>(oh * outW + ow) << 2)), inverse);
          for (let kh = 0; kh < KH; kh++) {
            for (let kw = 0; kw < KW; kw++) {
              const at = base + kh * W + kw;
              if (sW == 1) {
                const target = dx + (<usize>at << 2);
                v128.store(target, f32x4.add(v128.load(target), g));
              } else {
                addLanes(dx, i32x4(at, at + sW, at + 2 * sW, at + 3 * sW), g);
              }
            }
          }
        }
        ow += 4;
        continue;
      }
      const divisor = averageDivisor(oh, ow, H, W, KH, KW, sH, sW, pH, pW, includePad);
      const h0 = max(ih0, 0), h1 = min(ih0 + KH, H);
      const w0 = max(ow * sW - pW, 0), w1 = min(ow * sW - pW + KW, W);
      if (!backward) {
        let sum: f32 = 0;
        for (let ih = h0; ih < h1; ih++) for (let iw = w0; iw < w1; iw++) sum += load<f32>(x + (<usize>(ih * W + iw) << 2));
        store<f32>(y + (<usize>(oh * outW + ow) << 2), sum / divisor);
      } else {
        const g = load<f32>(dy + (<usize>(oh * outW + ow) << 2)) / divisor;
        for (let ih = h0; ih < h1; ih++) {
          for (let iw = w0; iw < w1; iw++) {
            const target = dx + (<usize>(ih * W + iw) << 2);
            store<f32>(target, load<f32>(target) + g);
          }
        }
      }
      ow++;
    }
  }
}

export function avgPool2dForward(
  x: usize, y: usize, planes: i32, H: i32, W: i32, outH: i32, outW: i32, KH: i32, KW: i32, sH: i32, sW: i32, pH: i32, pW: i32, includePad: bool,
): void {
  const inPlane = <usize>(H * W) << 2, outPlane = <usize>(outH * outW) << 2;
  for (let p = 0; p < planes; p++) {
    averagePlane(x + <usize>p * inPlane, y + <usize>p * outPlane, H, W, outH, outW, KH, KW, sH, sW, pH, pW, includePad, 0, 0);
  }
}

export function avgPool2dBackward(
  dy: usize, dx: usize, planes: i32, H: i32, W: i32, outH: i32, outW: i32, KH: i32, KW: i32, sH: i32, sW: i32, pH: i32, pW: i32, includePad: bool,
): void {
  const inPlane = <usize>(H * W) << 2, outPlane = <usize>(outH * outW) << 2;
  memory.fill(dx, 0, <usize>planes * inPlane);
  for (let p = 0; p < planes; p++) {
    averagePlane(0, 0, H, W, outH, outW, KH, KW, sH, sW, pH, pW, includePad, dx + <usize>p * inPlane, dy + <usize>p * outPlane);
  }
}

// ---- adaptive average: output (oh, ow) averages rows [⌊oh·H/Ho⌋, ⌈(oh + 1)·H/Ho⌉) and likewise columns.

@inline function adaptiveStart(o: i32, size: i32, out: i32): i32 {
  return <i32>((<i64>o * <i64>size) / <i64>out);
}

@inline function adaptiveEnd(o: i32, size: i32, out: i32): i32 {
  return <i32>(((<i64>(o + 1) * <i64>size) + <i64>out - 1) / <i64>out);
}

/** Σ of one row segment [w0, w1), four lanes and a tail. */
@inline function rowSum(row: usize, w0: i32, w1: i32): f32 {
  let lanes = f32x4.splat(0);
  let tail: f32 = 0;
  let w = w0;
  for (; w + 4 <= w1; w += 4) lanes = f32x4.add(lanes, v128.load(row + (<usize>w << 2)));
  for (; w < w1; w++) tail += load<f32>(row + (<usize>w << 2));
  return ((f32x4.extract_lane(lanes, 0) + f32x4.extract_lane(lanes, 1)) + (f32x4.extract_lane(lanes, 2) + f32x4.extract_lane(lanes, 3))) + tail;
}

export function adaptiveAvgPool2dForward(x: usize, y: usize, planes: i32, H: i32, W: i32, outH: i32, outW: i32): void {
  const inPlane = <usize>(H * W) << 2;
  for (let p = 0; p < planes; p++) {
    const plane = x + <usize>p * inPlane;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = adaptiveStart(oh, H, outH), h1 = adaptiveEnd(oh, H, outH);
      for (let ow = 0; ow < outW; ow++) {
        const w0 = adaptiveStart(ow, W, outW), w1 = adaptiveEnd(ow, W, outW);
        let sum: f32 = 0;
        for (let h = h0; h < h1; h++) sum += rowSum(plane + (<usize>(h * W) << 2), w0, w1);
        store<f32>(y + (<usize>((p * outH + oh) * outW + ow) << 2), sum / <f32>((h1 - h0) * (w1 - w0)));
      }
    }
  }
}

export function adaptiveAvgPool2dBackward(dy: usize, dx: usize, planes: i32, H: i32, W: i32, outH: i32, outW: i32): void {
  const inPlane = <usize>(H * W) << 2;
  memory.fill(dx, 0, <usize>planes * inPlane);
  for (let p = 0; p < planes; p++) {
    const plane = dx + <usize>p * inPlane;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = adaptiveStart(oh, H, outH), h1 = adaptiveEnd(oh, H, outH);
      for (let ow = 0; ow < outW; ow++) {
        const w0 = adaptiveStart(ow, W, outW), w1 = adaptiveEnd(ow, W, outW);
        const g = load<f32>(dy + (<usize>((p * outH + oh) * outW + ow) << 2)) / <f32>((h1 - h0) * (w1 - w0));
        const gv = f32x4.splat(g);
        for (let h = h0; h < h1; h++) {
          const row = plane + (<usize>(h * W) << 2);
          let w = w0;
          for (; w + 4 <= w1; w += 4) v128.store(row + (<usize>w << 2), f32x4.add(v128.load(row + (<usize>w << 2)), gv));
          for (; w < w1; w++) store<f32>(row + (<usize>w << 2), load<f32>(row + (<usize>w << 2)) + g);
        }
      }
    }
  }
}
