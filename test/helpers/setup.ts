// Shared test helpers: a runtime per test file, seeded random data, tensors from plain arrays.

import { Random } from "../../js/core/random.js";

/** Uniform [-1, 1) data from a seed (the library's own generator is fine here: it only makes inputs). */
export function randomData(seed: number, n: number): Float32Array {
  return new Random(seed).uniformArray(n, -1, 1);
}

export function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
