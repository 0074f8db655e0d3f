// Types for examples/mnist/autoencoder.mjs, so TypeScript tests can import the autoencoder's training loop.

import type { Sequential } from "wasm-conv2d";
import type { DigitSet } from "./data.mjs";
import type { TrainCallbacks, TrainOptions } from "./lenet.mjs";

/** The same settings as LeNet's (examples/mnist/defaults.mjs gives each trainer its own defaults). */
export type AutoencoderOptions = TrainOptions;

export interface AutoencoderEpoch {
  epoch: number;
  loss: number;
  testError: number;
  seconds: number;
  evaluationSeconds: number;
}

export { AUTOENCODER_DEFAULTS } from "./defaults.mjs";
export function autoencoder(seed: number): Sequential;
export function pixelsOf(standardised: Float32Array): Float32Array;
export function trainAutoencoder(
  data: { train: DigitSet; test: DigitSet },
  options?: AutoencoderOptions,
  callbacks?: TrainCallbacks<AutoencoderEpoch>,
): { model: Sequential; history: AutoencoderEpoch[] };
export function reconstructionError(model: Sequential, set: DigitSet, batchSize?: number): number;
export function meanImageError(data: { train: DigitSet; test: DigitSet }): number;
export function reconstruct(model: Sequential, set: DigitSet, count: number): Float32Array;
