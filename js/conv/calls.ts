// A conv2d call's checked arguments, outputs and direction calls: what conv2d, its async twin and the Conv2d layer share.

import { ErrorCode, fail } from "../core/errors.js";
import type { GradientSelection, SelectedGradient } from "../core/checks.js";
import type { Runtime } from "../core/runtime.js";
import { sameShape, shapeText } from "../core/shape.js";
import { Tensor, allocateTensor, tensorAddress } from "../core/tensor.js";
import { Direction } from "../core/kernels.js";
import { convGeometry, outputShape, type Conv2dOptions, type ConvGeometry } from "./geometry.js";
import type { DirectionCall } from "./schedule.js";

/**
 * dx, dw and db of a backward call. With a selection type S (the `which` argument) each is typed
 * Tensor or null as S says; Conv2dGradients alone types each Tensor | null.
 */
export interface Conv2dGradients<S extends GradientSelection = GradientSelection> {
  /** dL/dx, shaped like x; null when not requested. */
  dx: SelectedGradient<S, "dx">;
  /** dL/dw, shaped like w; null when not requested. */
  dw: SelectedGradient<S, "dw">;
  /** dL/db, shape [F]; null when not requested. */
  db: SelectedGradient<S, "db">;
}

/** @internal Where the kernels write the gradients; an address of 0 skips that gradient. */
export interface GradientTargets {
  dx: number;
  dw: number;
  db: number;
}

/** @internal Checked forward arguments: the geometry and the addresses. */
export interface CheckedForward {
  geometry: ConvGeometry;
  xAddress: number;
  wAddress: number;
  bAddress: number;
}

/** @internal Checked backward arguments: the geometry and the addresses. */
export interface CheckedBackward {
  geometry: ConvGeometry;
  dyAddress: number;
  xAddress: number;
  wAddress: number;
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
      fail(ErrorCode.BIAS, where, "b", `a rank-1 tensor [F] = [${geometry.outChannels}]`, `shape ${shapeText(bShape)}`);
    }
  }
  return { geometry, xAddress, wAddress, bAddress };
}

/** @internal Checks the backward arguments; dy must have the output's shape. */
export function checkBackward(
  runtime: Runtime, dy: unknown, x: unknown, w: unknown, options: Conv2dOptions | undefined, where: string,
): CheckedBackward {
  const dyAddress = tensorAddress(dy, runtime, where, "dy");
  const xAddress = tensorAddress(x, runtime, where, "x");
  const wAddress = tensorAddress(w, runtime, where, "w");
  const geometry = convGeometry((x as Tensor).shape, (w as Tensor).shape, options, where);
  const expected = outputShape(geometry);
  const dyShape = (dy as Tensor).shape;
  if (!sameShape(dyShape, expected)) {
    fail(ErrorCode.GRAD_SHAPE, where, "dy", `the output's shape ${shapeText(expected)}`, `shape ${shapeText(dyShape)}`);
  }
  return { geometry, dyAddress, xAddress, wAddress };
}

/** @internal The output tensor of a forward pass, contents undefined. */
export function allocateOutput(runtime: Runtime, geometry: ConvGeometry, where: string): Tensor {
  return allocateTensor(runtime, outputShape(geometry), where);
}

/**
 * @internal The selected gradient tensors, contents undefined; if one cannot be allocated, those
 * already made are freed before the error goes on.
 */
export function allocateGradients(
  runtime: Runtime, geometry: ConvGeometry, x: Tensor, w: Tensor, selection: Required<GradientSelection>, where: string,
): Conv2dGradients {
  const gradients: Conv2dGradients = { dx: null, dw: null, db: null };
  try {
    if (selection.dx) gradients.dx = allocateTensor(runtime, x.shape, where);
    if (selection.dw) gradients.dw = allocateTensor(runtime, w.shape, where);
    if (selection.db) gradients.db = allocateTensor(runtime, [geometry.outChannels], where);
  } catch (error) {
    disposeGradients(gradients);
    throw error;
  }
  return gradients;
}

/** @internal Where the kernels write the gradients (0 for one not computed). */
export function gradientTargets(g: { dx: Tensor | null; dw: Tensor | null; db: Tensor | null }): GradientTargets {
  return { dx: g.dx?._address ?? 0, dw: g.dw?._address ?? 0, db: g.db?._address ?? 0 };
}

/** @internal Frees every gradient tensor of g. */
export function disposeGradients(g: Conv2dGradients): void {
  g.dx?.dispose();
  g.dw?.dispose();
  g.db?.dispose();
}

/** @internal The forward kernel call: out = x ⋆ w + b. */
export function forwardCall(checked: CheckedForward, out: Tensor): DirectionCall {
  const { geometry, xAddress, wAddress, bAddress } = checked;
  return { direction: Direction.FORWARD, geometry, w: wAddress, bias: bAddress, a: xAddress, b: 0, out: out._address, accumulate: false };
}

/**
 * @internal The direction calls of a backward pass, db first, then dw, then dx, into the targets. With
 * accumulate, dw and db are added onto what the targets hold (a layer summing gradients); dx, a
 * layer's input gradient, is always overwritten.
 */
export function backwardCalls(checked: CheckedBackward, targets: GradientTargets, accumulate: boolean): DirectionCall[] {
  const { geometry, dyAddress, xAddress, wAddress } = checked;
  // Every direction reads dy.
  const call = (direction: Direction, weights: number, b: number, out: number, add: boolean): DirectionCall =>
    ({ direction, geometry, w: weights, bias: 0, a: dyAddress, b, out, accumulate: add });
  const calls: DirectionCall[] = [];
  if (targets.db) calls.push(call(Direction.DB, 0, 0, targets.db, accumulate));
  if (targets.dw) calls.push(call(Direction.DW, 0, xAddress, targets.dw, accumulate));
  if (targets.dx) calls.push(call(Direction.DX, wAddress, 0, targets.dx, false));
  return calls;
}
