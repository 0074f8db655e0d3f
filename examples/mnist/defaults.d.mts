// Types for examples/mnist/defaults.mjs.

export const DEFAULTS: Readonly<{
  epochs: number; batchSize: number; lr: number; lrDecay: number; maxShift: number; seed: number; trainSize: number;
}>;
export const RESNET_DEFAULTS: Readonly<{
  epochs: number; batchSize: number; lr: number; maxShift: number; seed: number; trainSize: number;
}>;
export const AUTOENCODER_DEFAULTS: Readonly<{
  epochs: number; batchSize: number; lr: number; lrDecay: number; maxShift: number; seed: number; trainSize: number;
}>;
