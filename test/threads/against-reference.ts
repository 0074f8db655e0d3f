// The thread tests' float64 check: a configuration's four results against referenceConv2d, within what float32 rounding alone can explain.

import type { Conv2dOptions } from "../../dist/index.js";
import { referenceConv2d, type ReferenceConfig } from "../reference/conv2d.ts";

/** The reference's explicit geometry for x and w shapes and the options the thread tests use (no "same"/"valid"). */
export function referenceConfig(x: readonly number[], w: readonly number[], options: Conv2dOptions): ReferenceConfig {
  const pair = (v: number | readonly number[] | undefined, fallback: number): [number, number] =>
    v === undefined ? [fallback, fallback] : typeof v === "number" ? [v, v] : [v[0]!, v[1]!];
  const p = options.pad;
  let pads: [number, number, number, number];
  if (p === undefined || typeof p === "number" || Array.isArray(p)) {
    const [h, v] = pair(p as number | number[] | undefined, 0);
    pads = [h, h, v, v];
  } else if (typeof p === "object") {
    const s = p as { top: number; bottom: number; left: number; right: number };
    pads = [s.top, s.bottom, s.left, s.right];
  } else {
    throw new Error(`the thread tests give explicit pads, not ${JSON.stringify(p)}`);
  }
  const [strideH, strideW] = pair(options.stride as number | number[] | undefined, 1);
  const [dilationH, dilationW] = pair(options.dilation as number | number[] | undefined, 1);
  return {
    N: x[0]!, C: x[1]!, H: x[2]!, W: x[3]!, F: w[0]!, KH: w[2]!, KW: w[3]!, strideH, strideW,
    padTop: pads[0], padBottom: pads[1], padLeft: pads[2], padRight: pads[3], dilationH, dilationW, groups: options.groups ?? 1,
  };
}

/** The reference's out, dx, dw, db, and for each element the most rounding may move a float32 kernel's result from it. */
export interface ReferenceBounds {
  values: Float64Array[];
  bounds: Float64Array[];
}

const U = 2 ** -24;

/**
 * The reference, and per element a bound that no summation order can exceed: an inner product of n
 * float32 terms evaluated in float32, in ANY order (GEMM tiles, 1,024-pixel chunks, 4-lane partial
 * sums, band buffers, with or without fused multiply-adds), is within γ_n·Σ|term| of the exact one,
 * γ_n = n·u / (1 − n·u), u = 2⁻²⁴ (Higham, Accuracy and Stability of Numerical Algorithms, (3.5)).
 * Σ|term| is the reference run on |x|, |w|, |b|, |dy|; n counts each element's terms (the bias is one
 * more), plus one for the float64 reference's own, far smaller, error. So the check cannot fail from
 * rounding, whatever the kernels' order. It is loose (about n²·u/4 for n terms in [-1, 1]), yet far
 * below what a wrong read costs: m terms taken from the wrong pixels move a sum by about 0.47·√m
 * (dy·(x' − x) has variance 2/9), e.g. a 2,257-pixel pointwise dw reading every chunk at offset 0:
 * about 16 against a bound of 0.08; the 16,384-pixel one: about 58 against 4.
 */
export function referenceBounds(
  cfg: ReferenceConfig, x: Float32Array, w: Float32Array, b: Float32Array | null, dy: Float32Array,
): ReferenceBounds {
  const exact = referenceConv2d(cfg, x, w, b, dy);
  const abs = (a: Float32Array) => a.map(Math.abs);
  const size = referenceConv2d(cfg, abs(x), abs(w), b && abs(b), abs(dy));
  const reduced = cfg.N * exact.outHeight * exact.outWidth;
  const terms = [
    (cfg.C / cfg.groups) * cfg.KH * cfg.KW + (b ? 1 : 0), // out: a patch, plus the bias
    (cfg.F / cfg.groups) * cfg.KH * cfg.KW, // dx: at most every tap of every filter of the group
    reduced, // dw: every output pixel of every image
    reduced, // db: the same
  ];
  const results = [exact.out, exact.dx, exact.dw, exact.db];
  const sizes = [size.out, size.dx, size.dw, size.db];
  return {
    values: results,
    bounds: sizes.map((s, k) => {
      const n = terms[k]! + 1;
      const gamma = (n * U) / (1 - n * U);
      return s.map((v) => gamma * v);
    }),
  };
}

/** The first element outside its bound, described, or null. */
export function outsideBounds(actual: Float32Array, values: Float64Array, bounds: Float64Array): string | null {
  if (actual.length !== values.length) return `length ${actual.length} ≠ ${values.length}`;
  for (let i = 0; i < values.length; i++) {
    const error = Math.abs(actual[i]! - values[i]!);
    if (!(error <= bounds[i]!)) return `index ${i}: got ${actual[i]}, expected ${values[i]} ± ${bounds[i]!.toExponential(2)}`;
  }
  return null;
}
