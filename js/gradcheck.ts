// gradcheckConv2d: analytic dx, dw, db against centred differences of the forward pass, cs231n style.

import { ErrorCode, describe, fail } from "./errors.js";
import { CONV_OPTION_KEYS, checkOptionsObject, convGeometry, pickConvOptions, type Conv2dOptions, type ConvGeometry } from "./geometry.js";
import { Random } from "./random.js";
import { currentRuntime, type Runtime } from "./runtime.js";
import { Tensor, scope, tensor } from "./tensor.js";
import { conv2d, conv2dBackward, type Conv2dGradients } from "./conv2d.js";

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
  const runtime = c.runtime ?? currentRuntime(where);
  const options = pickConvOptions(c);
  const kernel = c.kernelSize ?? 3;
  const [kh, kw] = Array.isArray(kernel) ? kernel : [kernel, kernel];
  const groups = options.groups ?? 1;
  const xShape = [c.batch ?? 2, c.inChannels ?? 3, c.height ?? 7, c.width ?? 7];
  const wShape = [c.outChannels ?? 4, xShape[1]! / groups, kh as number, kw as number];
  const geometry = convGeometry(xShape, wShape, options, where);
  const random = new Random(c.seed ?? 0);
  const hasBias = c.bias ?? true;

  return scope(() => {
    const xData = random.uniformArray(xShape.reduce((a, b) => a * b, 1), -1, 1);
    const wData = random.uniformArray(wShape.reduce((a, b) => a * b, 1), -1, 1);
    const bData = random.uniformArray(geometry.outChannels, -1, 1);
    const outSize = geometry.batch * geometry.outChannels * geometry.outHeight * geometry.outWidth;
    const dyData = random.uniformArray(outSize, -1, 1);
    const x = tensor(xData, xShape, runtime);
    const w = tensor(wData, wShape, runtime);
    const b = hasBias ? tensor(bData, [geometry.outChannels], runtime) : null;
    const dy = tensor(dyData, [geometry.batch, geometry.outChannels, geometry.outHeight, geometry.outWidth], runtime);
    const analytic = backward(dy, x, w, options);

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

    const dxError = analytic.dx ? relError(analytic.dx.toFloat32Array(), numerical(x, xData)) : NaN;
    const dwError = analytic.dw ? relError(analytic.dw.toFloat32Array(), numerical(w, wData)) : NaN;
    const dbError = b && analytic.db ? relError(analytic.db.toFloat32Array(), numerical(b, bData)) : 0;
    const passed = [dxError, dwError, dbError].every((e) => e <= GRADCHECK_TOLERANCE);
    return { dx: dxError, dw: dwError, db: dbError, tolerance: GRADCHECK_TOLERANCE, passed, geometry };
  });
}

/** cs231n's rel_error: max_i |a_i − b_i| / max(1e-8, |a_i| + |b_i|); NaN anywhere gives NaN. */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>): number {
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
