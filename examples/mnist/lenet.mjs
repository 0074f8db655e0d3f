// The LeNet-style network and its training loop, shared by npm start, the browser worker and the tests.

import { Sequential, Conv2d, ReLU, MaxPool2x2, Flatten, Linear } from "wasm-conv2d";
import { CLASSES } from "./data.mjs";
import { DEFAULTS } from "./defaults.mjs";
import { TimedLayer, evaluate, trainModel } from "./trainer.mjs";

export { DEFAULTS };

/**
 * conv 5×5 (8) → ReLU → max-pool → conv 5×5 (16) → ReLU → max-pool → linear (10); the softmax is in
 * the loss. "same" padding keeps 28×28, then 14×14, so the linear layer sees 16·7·7 = 784 features.
 * Each layer draws its weights from its own seed, derived from the run's.
 */
export function leNet(seed, timers = null) {
  const conv1 = new Conv2d({ inChannels: 1, outChannels: 8, kernelSize: 5, pad: "same", seed: seed * 8 + 1 });
  const conv2 = new Conv2d({ inChannels: 8, outChannels: 16, kernelSize: 5, pad: "same", seed: seed * 8 + 2 });
  const timed = (layer) => (timers ? new TimedLayer(layer, timers) : layer);
  return new Sequential([
    timed(conv1), new ReLU(), new MaxPool2x2(),
    timed(conv2), new ReLU(), new MaxPool2x2(),
    new Flatten(), new Linear({ inFeatures: 16 * 7 * 7, outFeatures: CLASSES, seed: seed * 8 + 3 }),
  ]);
}

/**
 * Trains a fresh LeNet with Adam on data.train (the learning rate lr·lrDecay^(epoch − 1)) and
 * evaluates on data.test after each epoch; callbacks and history as trainModel's (trainer.mjs).
 * Synchronous; returns { model, history } (dispose the model when done).
 */
export function train(data, options = {}, callbacks = {}) {
  const settings = { ...DEFAULTS, ...options };
  const timers = { forward: 0, backward: 0 };
  const model = leNet(settings.seed, timers);
  const history = trainModel(model, data, settings, (epoch) => settings.lr * settings.lrDecay ** (epoch - 1), timers, callbacks);
  return { model, history };
}

export { evaluate };
