// Types for examples/mnist/data.mjs.

export interface DigitSet {
  /** count × 784 standardised pixels. */
  images: Float32Array;
  labels: Int32Array;
  count: number;
}

export const IMAGE_SIZE: number;
export const PIXELS: number;
export const CLASSES: number;
export const PIXEL_MEAN: number;
export const PIXEL_STD: number;
export function splitDigits(perClass: ArrayLike<number>[], sizes?: { trainSize?: number; testSize?: number }): { train: DigitSet; test: DigitSet };
export function permutation(n: number, seed: number): number[];
export function fillBatch(
  set: DigitSet, order: ArrayLike<number>, first: number, count: number, images: Float32Array, labels: Int32Array,
  random?: (() => number) | null, maxShift?: number,
): void;
export function epochBatches(
  set: DigitSet,
  plan: { trainSize: number; batchSize: number; seed: number; epoch: number; maxShift: number },
): Generator<{ images: Float32Array; labels: Int32Array; count: number; index: number; batches: number }>;
