// Shapes: the element count of a shape, the check that makes one from user input, and shape equality.

import { ErrorCode, describe, fail } from "./errors.js";

/** The number of elements of a shape: the product of its dimensions (1 for []). */
export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const d of shape) size *= d;
  return size;
}

/** Whether two shapes are the same dimensions in the same order. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => b[i] === d);
}

/** An array of positive integers, or ERR_DIMENSION naming the element at fault; returns its size. */
export function checkShape(shape: unknown, where: string, argument: string): number {
  if (!Array.isArray(shape)) fail(ErrorCode.DIMENSION, where, argument, "an array of positive integers", describe(shape));
  for (let i = 0; i < shape.length; i++) {
    const d: unknown = shape[i];
    if (typeof d !== "number" || !Number.isInteger(d) || d < 1) {
      fail(ErrorCode.DIMENSION, where, `${argument}[${i}]`, "a positive integer", describe(d));
    }
  }
  return sizeOf(shape as number[]);
}

/** "[2, 3, 8, 8]". */
export function shapeText(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
