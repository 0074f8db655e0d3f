// gradcheckConv2d: analytic dx, dw, db against centred differences of the forward pass, cs231n style.

import { ErrorCode, describe, fail } from "../core/errors.js";
import { booleanOption, checkOptionsObject, integerOption, positiveInteger } from "../core/checks.js";
import { Random } from "../core/random.js";
import { runtimeArgument, type Runtime } from "../core/runtime.js";
import { sizeOf } from "../core/shape.js";
import { Tensor, scope, zeros } from "../core/tensor.js";
import type { Conv2dGradients } from "./calls.js";
import { conv2d, conv2dBackward } from "./conv2d.js";
import { CONV_OPTION_KEYS, convGeometry, kernelSizeOption, outputShape, pickConvOptions, type Conv2dOptions, type ConvGeometry } from "./geometry.js";

export interface GradcheckConfig extends Conv2dOptions {
  batch?: number;
  inChannels?: number;
  outChannels?: number;
  height?: number;
  width?: number;
  /** KH = KW, or [KH, KW]. Default 3. */
  kernelSize?: number | readonly [number, number];
  /** Include a bias (default true). */
  bias?: boolean;
  /** Seed for x, w, b and dy (default 0). */
  seed?: number;
  /** The centred-difference step h (default 1; see GRADCHECK_TOLERANCE for why that is right here). */
  step?: number;
  /**
   * The analytic gradients to check (default: conv2dBackward). Pass your own to check another
   * implementation of the same maths — or a deliberately wrong one, to see the check fail.
   */
  backward?: (dy: Tensor, x: Tensor, w: Tensor, options: Conv2dOptions) => Conv2dGradients;
  runtime?: Runtime;
}

export interface GradcheckResult {
  /** max_i |a − n| / max(1e-8, |a| + |n|) between analytic a and numerical n, for dx, dw and db. */
  dx: number;
  dw: number;
  db: number;
  /** The bound each error must stay under. */
  tolerance: number;
  passed: boolean;
  geometry: ConvGeometry;
}

/**
 * Conv2d is linear in each of x, w and b, so a centred difference is exact in real arithmetic for any
 * step h; all that remains is float32 rounding of the two forward passes, about ulp(out) / 2h per
 * output. So the default step is h = 1, not the 1e-5 of a float64 check: the rounding then costs
 * ~2e-5 of a typical gradient entry (median of the per-check maxima over 1,050 random checks) and
 * 3.5e-3 in the worst entry seen (a small gradient made of cancelling terms, where the elementwise
 * relative error is largest). A wrong gradient (unrotated filter, missing stride, a dropped group) is
 * off by O(1). 1e-2 separates the two with margin on both sides.
 */
export const GRADCHECK_TOLERANCE = 1e-2;

const CONFIG_KEYS = [
  "batch", "inChannels", "outChannels", "height", "width", "kernelSize", "bias", "seed", "step", "backward", "runtime",
  ...CONV_OPTION_KEYS,
];

/** Numerical gradient check of conv2d on random data for one configuration (every element of x, w, b). */
export function gradcheckConv2d(config: GradcheckConfig = {}): GradcheckResult {
  const where = "gradcheckConv2d";
  const c = checkOptionsObject(config, CONFIG_KEYS, where, "config");
  const step = c.step ?? 1;
  if (typeof step !== "number" || !(step > 0) || !Number.isFinite(step)) {
    fail(ErrorCode.INVALID_OPTION, where, "config.step", "a positive number", describe(step));
  }
  const backward = c.backward ?? ((dy, x, w, o) => conv2dBackward(dy, x, w, o));
  if (typeof backward !== "function") fail(ErrorCode.INVALID_OPTION, where, "config.backward", "a function", describe(backward));
  const runtime = runtimeArgument(c.runtime, where, "config.runtime");
  const options = pickConvOptions(c);
  const size = (key: "batch" | "inChannels" | "outChannels" | "height" | "width", fallback: number) =>
    c[key] === undefined ? fallback : positiveInteger(c[key], where, `config.${key}`);
  const xShape = [size("batch", 2), size("inChannels", 3), size("height", 7), size("width", 7)];
  const outChannels = size("outChannels", 4);
  const [kh, kw] = kernelSizeOption(c.kernelSize ?? 3, where, "config.kernelSize");
  // groups splits the channels this config makes, so its error names them (not the weight shape they imply).
  const groups = options.groups ?? 1;
  if (typeof groups !== "number" || !Number.isInteger(groups) || groups < 1 || xShape[1]! % groups !== 0 || outChannels % groups !== 0) {
    fail(ErrorCode.GROUPS, where, "config.groups",
      `a positive integer dividing both config.inChannels = ${xShape[1]} and config.outChannels = ${outChannels}`, describe(groups));
  }
  const wShape = [outChannels, xShape[1]! / groups, kh, kw];
  const geometry = convGeometry(xShape, wShape, options, where);
  const random = new Random(integerOption(c.seed, 0, where, "config.seed"));
  const hasBias = booleanOption(c.bias, true, where, "config.bias");

  return scope(() => {
    // The tensors first: a configuration too large for wasm memory is ERR_OUT_OF_MEMORY before its
    // data is drawn in JS (gigabytes, or a RangeError past the longest typed array).
    const x = zeros(xShape, runtime);
    const w = zeros(wShape, runtime);
    const b = hasBias ? zeros([geometry.outChannels], runtime) : null;
    const dy = zeros(outputShape(geometry), runtime);
    const xData = random.uniformArray(sizeOf(xShape), -1, 1);
    const wData = random.uniformArray(sizeOf(wShape), -1, 1);
    const bData = random.uniformArray(geometry.outChannels, -1, 1);
    const dyData = random.uniformArray(sizeOf(outputShape(geometry)), -1, 1);
    x.write(xData);
    w.write(wData);
    b?.write(bData);
    dy.write(dyData);
    const analytic: unknown = backward(dy, x, w, options);
    if (analytic === null || typeof analytic !== "object") {
      fail(ErrorCode.INVALID_OPTION, where, "config.backward", "a function returning { dx, dw, db }", `one returning ${describe(analytic)}`);
    }
    const gradient = (key: "dx" | "dw" | "db"): Tensor | null => {
      const value = (analytic as Record<string, unknown>)[key];
      if (value === null || value === undefined) return null;
      if (!(value instanceof Tensor)) fail(ErrorCode.NOT_A_TENSOR, where, `config.backward(...).${key}`, "a Tensor or null", describe(value));
      return value;
    };
    const [dxAnalytic, dwAnalytic, dbAnalytic] = [gradient("dx"), gradient("dw"), gradient("db")];

    // dL/dθ_i with L = Σ out·dy, from (L(θ + h e_i) − L(θ − h e_i)) / 2h; the difference of the two
    // outputs is taken element by element in float64 before weighting, so unchanged outputs cancel exactly.
    const numerical = (target: Tensor, data: Float32Array): Float64Array => {
      const grad = new Float64Array(data.length);
      const perturbed = data.slice();
      for (let i = 0; i < data.length; i++) {
        const original = data[i]!;
        perturbed[i] = original + step;
        target.write(perturbed);
        const plus = scope(() => conv2d(x, w, b, options).toFloat32Array());
        perturbed[i] = original - step;
        target.write(perturbed);
        const minus = scope(() => conv2d(x, w, b, options).toFloat32Array());
        perturbed[i] = original;
        let sum = 0;
        for (let j = 0; j < plus.length; j++) sum += (plus[j]! - minus[j]!) * dyData[j]!;
        grad[i] = sum / (2 * step);
      }
      target.write(data);
      return grad;
    };

    const dxError = dxAnalytic ? relError(dxAnalytic.toFloat32Array(), numerical(x, xData)) : NaN;
    const dwError = dwAnalytic ? relError(dwAnalytic.toFloat32Array(), numerical(w, wData)) : NaN;
    const dbError = b && dbAnalytic ? relError(dbAnalytic.toFloat32Array(), numerical(b, bData)) : 0;
    const passed = [dxError, dwError, dbError].every((e) => e <= GRADCHECK_TOLERANCE);
    return { dx: dxError, dw: dwError, db: dbError, tolerance: GRADCHECK_TOLERANCE, passed, geometry };
  });
}

/** cs231n's rel_error: max_i |a_i − b_i| / max(1e-8, |a_i| + |b_i|); NaN anywhere gives NaN. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (const [value, argument] of [[a, "a"], [b, "b"]] as const) {
    const numeric = Array.isArray(value) ? value.every((v) => typeof v === "number")
      : ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array);
    if (!numeric) fail(ErrorCode.DATA_TYPE, "relError", argument, "an array or typed array of numbers", describe(value));
  }
  if (a.length !== b.length) {
    fail(ErrorCode.DATA_LENGTH, "relError", "b", `${a.length} values (as many as a)`, `${b.length} values`);
  }
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!) / Math.max(1e-8, Math.abs(a[i]!) + Math.abs(b[i]!));
    if (!(e <= worst)) worst = e;
  }
  return worst;
}
