// conv2d and conv2dBackward: check arguments, build the geometry, allocate outputs, call the kernels.

import { ErrorCode, describe, fail } from "./errors.js";
import { checkOptionsObject, convGeometry, outputShape, type Conv2dOptions, type ConvGeometry } from "./geometry.js";
import type { Runtime } from "./runtime.js";
import { Direction } from "./kernels.js";
import { runOnThisThread, type DirectionCall } from "./schedule.js";
import { Tensor, allocateTensor, runtimeOf, tensorAddress } from "./tensor.js";

/** Which gradients conv2dBackward computes; each defaults to true. A skipped one comes back null. */
export interface GradientSelection {
  dx?: boolean;
  dw?: boolean;
  db?: boolean;
}

export interface Conv2dGradients {
  /** dL/dx, shaped like x; null when not requested. */
  dx: Tensor | null;
  /** dL/dw, shaped like w; null when not requested. */
  dw: Tensor | null;
  /** dL/db, shape [F]; null when not requested. */
  db: Tensor | null;
}

/** Where conv2dBackwardInto writes; an address of 0 skips that gradient. */
export interface GradientTargets {
  dx: number;
  dw: number;
  db: number;
}

/** out = x ⋆ w + b, exactly torch.nn.functional.conv2d (NCHW, cross-correlation). b may be null. */
export function conv2d(x: Tensor, w: Tensor, b: Tensor | null | undefined, options?: Conv2dOptions): Tensor {
  const where = "conv2d";
  const runtime = runtimeOf(x, where, "x");
  const { geometry, xAddress, wAddress, bAddress } = checkForward(runtime, x, w, b, options, where);
  const shape = outputShape(geometry);
  // The output first: when it cannot exist, that is the error worth reporting, not the scratch.
  const out = allocateTensor(runtime, shape, shape.reduce((p, d) => p * d, 1));
  runKernel([out], () => {
    runOnThisThread(runtime, {
      direction: Direction.FORWARD, geometry, w: wAddress, bias: bAddress, a: xAddress, b: 0, out: out._address, accumulate: false,
    });
  });
  return out;
}

/**
 * Gradients of L through out = conv2d(x, w, b, options), given dy = dL/dout: dx, dw and db. Pass
 * `which` to skip some (a first layer needs no dx); skipped ones are null.
 */
export function conv2dBackward(
  dy: Tensor, x: Tensor, w: Tensor, options?: Conv2dOptions, which?: GradientSelection,
): Conv2dGradients {
  const where = "conv2dBackward";
  const runtime = runtimeOf(dy, where, "dy");
  const { geometry, dyAddress, xAddress, wAddress } = checkBackward(runtime, dy, x, w, options, where);
  const selection = checkSelection(which, where);
  const made: Tensor[] = [];
  try {
    const dx = selection.dx ? allocateTensor(runtime, x.shape, x.size) : null;
    if (dx) made.push(dx);
    const dw = selection.dw ? allocateTensor(runtime, w.shape, w.size) : null;
    if (dw) made.push(dw);
    const db = selection.db ? allocateTensor(runtime, [geometry.outChannels], geometry.outChannels) : null;
    if (db) made.push(db);
    runBackward(runtime, geometry, dyAddress, xAddress, wAddress,
      { dx: dx?._address ?? 0, dw: dw?._address ?? 0, db: db?._address ?? 0 }, false);
    return { dx, dw, db };
  } catch (error) {
    for (const t of made) t.dispose();
    throw error;
  }
}

/** @internal Checked forward arguments: the geometry and the addresses. */
export function checkForward(
  runtime: Runtime, x: unknown, w: unknown, b: unknown, options: Conv2dOptions | undefined, where: string,
): { geometry: ConvGeometry; xAddress: number; wAddress: number; bAddress: number } {
  const xAddress = tensorAddress(x, runtime, where, "x");
  const wAddress = tensorAddress(w, runtime, where, "w");
  const bAddress = b === null || b === undefined ? 0 : tensorAddress(b, runtime, where, "b");
  const geometry = convGeometry((x as Tensor).shape, (w as Tensor).shape, options, where);
  if (bAddress !== 0) {
    const bShape = (b as Tensor).shape;
    if (bShape.length !== 1 || bShape[0] !== geometry.outChannels) {
      fail(ErrorCode.BIAS, where, "b", `a rank-1 tensor [F] = [${geometry.outChannels}]`, `shape ${describe([...bShape])}`);
    }
  }
  return { geometry, xAddress, wAddress, bAddress };
}

/** @internal Checked backward arguments: the geometry and the addresses; dy must have the output's shape. */
export function checkBackward(
  runtime: Runtime, dy: unknown, x: unknown, w: unknown, options: Conv2dOptions | undefined, where: string,
): { geometry: ConvGeometry; dyAddress: number; xAddress: number; wAddress: number } {
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const wAddress = tensorAddress(w, runtime, where, "w");
  const geometry = convGeometry((x as Tensor).shape, (w as Tensor).shape, options, where);
  const expected = outputShape(geometry);
  const dyShape = (dy as Tensor).shape;
  if (dyShape.length !== 4 || expected.some((d, i) => dyShape[i] !== d)) {
    fail(ErrorCode.GRAD_SHAPE, where, "dy", `the output's shape ${describe(expected)}`, `shape ${describe([...dyShape])}`);
  }
  return { geometry, dyAddress, xAddress, wAddress };
}

/**
 * @internal Runs the backward kernels into given addresses (0 = skip). With accumulate, dw and db are
 * added onto what the targets hold (a layer summing gradients); dx is always overwritten.
 */
export function runBackward(
  runtime: Runtime, geometry: ConvGeometry, dy: number, x: number, w: number, targets: GradientTargets, accumulate: boolean,
): void {
  for (const call of backwardCalls(geometry, dy, x, w, targets, accumulate)) runOnThisThread(runtime, call);
}

/** @internal The direction calls of a backward pass, db first, then dw, then dx. */
export function backwardCalls(
  geometry: ConvGeometry, dy: number, x: number, w: number, targets: GradientTargets, accumulate: boolean,
): DirectionCall[] {
  const calls: DirectionCall[] = [];
  if (targets.db) calls.push({ direction: Direction.BIAS, geometry, w: 0, bias: 0, a: dy, b: 0, out: targets.db, accumulate });
  if (targets.dw) calls.push({ direction: Direction.FILTER, geometry, w: 0, bias: 0, a: dy, b: x, out: targets.dw, accumulate });
  if (targets.dx) calls.push({ direction: Direction.INPUT, geometry, w, bias: 0, a: dy, b: 0, out: targets.dx, accumulate: false });
  return calls;
}

/** @internal Runs a kernel (and what it needs first); if that throws, frees the outputs made for it before rethrowing. */
export function runKernel(outputs: Tensor[], kernel: () => void): void {
  try {
    kernel();
  } catch (error) {
    for (const t of outputs) t.dispose();
    throw error;
  }
}

function checkSelection(which: GradientSelection | undefined, where: string): Required<GradientSelection> {
  const selection = checkOptionsObject(which, ["dx", "dw", "db"], where, "which");
  for (const key of ["dx", "dw", "db"] as const) {
    const value = selection[key];
    if (value !== undefined && typeof value !== "boolean") {
      fail(ErrorCode.INVALID_OPTION, where, `which.${key}`, "true or false", describe(value));
    }
  }
  return { dx: selection.dx ?? true, dw: selection.dw ?? true, db: selection.db ?? true };
}
