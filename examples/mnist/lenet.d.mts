// Types for examples/mnist/lenet.mjs, so TypeScript tests can import the training loop.

import type { Sequential } from "wasm-conv2d";
import type { DigitSet } from "./data.mjs";

export interface TrainOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  lrDecay?: number;
  maxShift?: number;
  seed?: number;
  trainSize?: number;
}

export interface EpochRecord {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  testAccuracy: number;
  seconds: number;
  convForwardSeconds: number;
  convBackwardSeconds: number;
  evaluationSeconds: number;
}

/** What every trainer of examples/mnist reports: each step's loss, and each epoch's record R. */
export interface TrainCallbacks<R> {
  onBatch?: (progress: { epoch: number; batch: number; batches: number; loss: number }) => void;
  onEpoch?: (record: R) => void;
}

export { DEFAULTS } from "./defaults.mjs";
export function leNet(seed: number, timers?: { forward: number; backward: number } | null): Sequential;
export function train(
  data: { train: DigitSet; test: DigitSet },
  options?: TrainOptions,
  callbacks?: TrainCallbacks<EpochRecord>,
): { model: Sequential; history: EpochRecord[] };
export function evaluate(model: Sequential, set: DigitSet, batchSize?: number): number;
