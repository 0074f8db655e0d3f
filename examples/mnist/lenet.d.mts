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

export { DEFAULTS } from "./defaults.mjs";
export function leNet(seed: number, timers?: { forward: number; backward: number } | null): Sequential;
export function train(
  data: { train: DigitSet; test: DigitSet },
  options?: TrainOptions,
  callbacks?: {
    onBatch?: (progress: { epoch: number; batch: number; batches: number; loss: number }) => void;
    onEpoch?: (record: EpochRecord) => void;
  },
): { model: Sequential; history: EpochRecord[] };
export function evaluate(model: Sequential, set: DigitSet, batchSize?: number): number;
