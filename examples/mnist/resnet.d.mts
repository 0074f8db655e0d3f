// Types for examples/mnist/resnet.mjs, so TypeScript tests can import the ResNet's training loop.

import type { Sequential } from "wasm-conv2d";
import type { DigitSet } from "./data.mjs";
import type { EpochRecord, TrainCallbacks } from "./lenet.mjs";

export interface ResNetOptions {
  epochs?: number;
  batchSize?: number;
  lr?: number;
  maxShift?: number;
  seed?: number;
  trainSize?: number;
}

export { RESNET_DEFAULTS } from "./defaults.mjs";
export function resNet(seed: number, timers?: { forward: number; backward: number } | null): Sequential;
export function trainResNet(
  data: { train: DigitSet; test: DigitSet },
  options?: ResNetOptions,
  callbacks?: TrainCallbacks<EpochRecord>,
): { model: Sequential; history: EpochRecord[] };
