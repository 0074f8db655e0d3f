// The argument checks every part of the API shares: options objects, scalar options, gradient selections, tensor shapes.

import { ErrorCode, describe, fail } from "./errors.js";
import { sameShape, shapeText } from "./shape.js";
import type { Tensor } from "./tensor.js";

/** Rejects a value that is not an options object, and unknown keys; undefined and null mean {}. */
export function checkOptionsObject<T extends object>(
  options: T | null | undefined, keys: readonly string[], where: string, argument: string,
): Partial<T> {
  if (options === undefined || options === null) return {};
  if (typeof options !== "object" || Array.isArray(options)) {
    fail(ErrorCode.INVALID_OPTION, where, argument, "an options object", describe(options));
  }
  for (const key of Object.keys(options)) {
    if (!keys.includes(key)) {
      fail(ErrorCode.UNKNOWN_OPTION, where, `${argument}.${key}`, `one of ${keys.join(", ")}`, `unknown key "${key}"`);
    }
  }
  return options;
}

/** A required options object (a layer's constructor argument), checked as checkOptionsObject does. */
export function requireOptionsObject<T extends object>(options: T, keys: readonly string[], where: string): Partial<T> {
  if (options === null || typeof options !== "object") {
    fail(ErrorCode.INVALID_OPTION, where, "options", "an options object", describe(options));
  }
  return checkOptionsObject(options, keys, where, "options");
}

/** A positive integer, or `code` (ERR_DIMENSION by default) naming the argument. */
export function positiveInteger(value: unknown, where: string, argument: string, code: ErrorCode = ErrorCode.DIMENSION): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    fail(code, where, argument, "a positive integer", describe(value));
  }
  return value;
}

/** true or false (fallback when undefined), or ERR_INVALID_OPTION. */
export function booleanOption(value: unknown, fallback: boolean, where: string, argument: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") fail(ErrorCode.INVALID_OPTION, where, argument, "true or false", describe(value));
  return value;
}

/** An integer (fallback when undefined), or ERR_INVALID_OPTION: seeds. */
export function integerOption(value: unknown, fallback: number, where: string, argument: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value)) fail(ErrorCode.INVALID_OPTION, where, argument, "an integer", describe(value));
  return value;
}

/** Which gradients a backward function computes; each defaults to true. A skipped one comes back null. */
export interface GradientSelection {
  dx?: boolean;
  dw?: boolean;
  db?: boolean;
}

/** The `which` argument of conv2dBackward and linearBackward, checked; each gradient defaults to true. */
export function checkGradientSelection(which: GradientSelection | undefined, where: string): Required<GradientSelection> {
  const selection = checkOptionsObject(which, ["dx", "dw", "db"], where, "which");
  return {
    dx: booleanOption(selection.dx, true, where, "which.dx"),
    dw: booleanOption(selection.dw, true, where, "which.dw"),
    db: booleanOption(selection.db, true, where, "which.db"),
  };
}

/** ERR_RANK unless t has `rank` dimensions; `layout` names them ("[N, features]"). */
export function requireRank(t: Tensor, rank: number, layout: string, where: string, argument: string): void {
  if (t.shape.length !== rank) {
    fail(ErrorCode.RANK, where, argument, `a rank-${rank} tensor ${layout}`, `rank ${t.shape.length} ${shapeText(t.shape)}`);
  }
}

/** ERR_GRAD_SHAPE unless dy has exactly `shape`. */
export function requireGradShape(dy: Tensor, shape: readonly number[], where: string): void {
  if (!sameShape(dy.shape, shape)) {
    fail(ErrorCode.GRAD_SHAPE, where, "dy", `the output's shape ${shapeText(shape)}`, `shape ${shapeText(dy.shape)}`);
  }
}

/**
 * The type of one gradient of a backward call given its selection S: null where S says false, a
 * Tensor where it says true or nothing, either where it is a plain boolean.
 */
export type SelectedGradient<S, K extends keyof GradientSelection> = K extends keyof S
  ? S[K] extends false ? null : S[K] extends true | undefined ? Tensor : Tensor | null
  : Tensor;
