// conv2d and conv2dBackward: check arguments, build the geometry, allocate outputs, call the kernels.

import { ErrorCode, describe, fail } from "./errors.js";
import { checkOptionsObject, convGeometry, outputShape, type Conv2dOptions, type ConvGeometry } from "./geometry.js";
import type { Runtime } from "./runtime.js";
import { Direction } from "./kernels.js";
import { runSynchronously, type DirectionCall } from "./schedule.js";
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
  const checked = checkForward(runtime, x, w, b, options, where);
  // The output first: when it cannot exist, that is the error worth reporting, not the scratch.
  const out = allocateOutput(runtime, checked.geometry);
  runKernel([out], () => runSynchronously(runtime, forwardCall(checked, out)));
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
  const gradients = allocateGradients(runtime, geometry, x, w, checkSelection(which, where));
  try {
    runBackward(runtime, geometry, dyAddress, xAddress, wAddress, gradientTargets(gradients), false);
  } catch (error) {
    disposeGradients(gradients);
    throw error;
  }
  return gradients;
}

/**
 * @internal The selected gradient tensors, contents undefined; if one cannot be allocated, those
 * already made are freed before the error goes on.
 */
export function allocateGradients(
  runtime: Runtime, geometry: ConvGeometry, x: Tensor, w: Tensor, selection: Required<GradientSelection>,
): Conv2dGradients {
  const gradients: Conv2dGradients = { dx: null, dw: null, db: null };
  try {
    if (selection.dx) gradients.dx = allocateTensor(runtime, x.shape, x.size);
    if (selection.dw) gradients.dw = allocateTensor(runtime, w.shape, w.size);
    if (selection.db) gradients.db = allocateTensor(runtime, [geometry.outChannels], geometry.outChannels);
  } catch (error) {
    disposeGradients(gradients);
    throw error;
  }
  return gradients;
}

/** @internal Where the kernels write the gradients (0 for one not computed). */
export function gradientTargets(g: Conv2dGradients): GradientTargets {
  return { dx: g.dx?._address ?? 0, dw: g.dw?._address ?? 0, db: g.db?._address ?? 0 };
}

/** @internal Frees every gradient tensor of g. */
export function disposeGradients(g: Conv2dGradients): void {
  for (const t of Object.values(g)) t?.dispose();
}

/** @internal Checked forward arguments: the geometry and the addresses. */
export interface CheckedForward {
  geometry: ConvGeometry;
  xAddress: number;
  wAddress: number;
  bAddress: number;
}

/** @internal The output tensor of a forward pass, contents undefined. */
export function allocateOutput(runtime: Runtime, geometry: ConvGeometry): Tensor {
  const shape = outputShape(geometry);
  return allocateTensor(runtime, shape, shape.reduce((p, d) => p * d, 1));
}

/** @internal The forward kernel call: out = x ⋆ w + b. */
export function forwardCall(checked: CheckedForward, out: Tensor): DirectionCall {
  const { geometry, xAddress, wAddress, bAddress } = checked;
  return { direction: Direction.FORWARD, geometry, w: wAddress, bias: bAddress, a: xAddress, b: 0, out: out._address, accumulate: false };
}

/** @internal Checks the forward arguments against the runtime and each other. */
export function checkForward(
  runtime: Runtime, x: unknown, w: unknown, b: unknown, options: Conv2dOptions | undefined, where: string,
): CheckedForward {
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
  for (const call of backwardCalls(geometry, dy, x, w, targets, accumulate)) runSynchronously(runtime, call);
}

/** @internal The direction calls of a backward pass, db first, then dw, then dx. */
export function backwardCalls(
  geometry: ConvGeometry, dy: number, x: number, w: number, targets: GradientTargets, accumulate: boolean,
): DirectionCall[] {
  // Every direction reads dy; dx is never accumulated (a layer's input gradient is its own).
  const call = (direction: Direction, weights: number, b: number, out: number, add: boolean): DirectionCall =>
    ({ direction, geometry, w: weights, bias: 0, a: dy, b, out, accumulate: add });
  const calls: DirectionCall[] = [];
  if (targets.db) calls.push(call(Direction.BIAS, 0, 0, targets.db, accumulate));
  if (targets.dw) calls.push(call(Direction.FILTER, 0, x, targets.dw, accumulate));
  if (targets.dx) calls.push(call(Direction.INPUT, w, 0, targets.dx, false));
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

/** @internal Which gradients to compute, checked; each defaults to true. */
export function checkSelection(which: GradientSelection | undefined, where: string): Required<GradientSelection> {
  const selection = checkOptionsObject(which, ["dx", "dw", "db"], where, "which");
  for (const key of ["dx", "dw", "db"] as const) {
    const value = selection[key];
    if (value !== undefined && typeof value !== "boolean") {
      fail(ErrorCode.INVALID_OPTION, where, `which.${key}`, "true or false", describe(value));
    }
  }
  return { dx: selection.dx ?? true, dw: selection.dw ?? true, db: selection.db ?? true };
}
