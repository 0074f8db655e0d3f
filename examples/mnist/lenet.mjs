// The LeNet-style network and its training loop, shared by npm start, the browser worker and the tests.

import {
  Sequential, Conv2d, ReLU, MaxPool2x2, Flatten, Linear, Adam, softmaxCrossEntropy, countCorrect, tensor, scope,
} from "wasm-conv2d";
import { CLASSES, IMAGE_SIZE, PIXELS, epochBatches } from "./data.mjs";
import { DEFAULTS } from "./defaults.mjs";

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
 * Trains a fresh LeNet with Adam on data.train and evaluates on data.test after each epoch. Calls
 * onBatch({ epoch, batch, batches, loss }) after every step and onEpoch({ epoch, loss, trainAccuracy,
 * testAccuracy, seconds, convForwardSeconds, convBackwardSeconds, evaluationSeconds }) after every
 * epoch: seconds and the conv times cover the training steps alone, the test-set evaluation is timed
 * apart. Synchronous; returns { model, history } (dispose the model when done).
 */
export function train(data, options = {}, { onBatch = () => {}, onEpoch = () => {} } = {}) {
  const { epochs, batchSize, lr, lrDecay, seed, maxShift } = { ...DEFAULTS, ...options };
  const trainSize = Math.min(options.trainSize ?? DEFAULTS.trainSize, data.train.count);
  const timers = { forward: 0, backward: 0 };
  const model = leNet(seed, timers);
  const optimizer = new Adam(model.parameters(), { lr });
  const history = [];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      optimizer.lr = lr * lrDecay ** (epoch - 1);
      timers.forward = timers.backward = 0;
      const start = performance.now();
      let lossSum = 0, correct = 0;
      for (const batch of epochBatches(data.train, { trainSize, batchSize, seed, epoch, maxShift })) {
        const { loss, hits } = scope(() => {
          const x = tensor(batch.images, [batch.count, 1, IMAGE_SIZE, IMAGE_SIZE]);
          const logits = model.forward(x);
          const { loss, grad } = softmaxCrossEntropy(logits, batch.labels);
          const hits = countCorrect(logits, batch.labels);
          optimizer.zeroGrad();
          model.backward(grad, { inputGrad: false });
          optimizer.step();
          return { loss, hits };
        });
        lossSum += loss * batch.count;
        correct += hits;
        onBatch({ epoch, batch: batch.index + 1, batches: batch.batches, loss });
      }
      const seconds = (performance.now() - start) / 1000;
      const convForwardSeconds = timers.forward / 1000, convBackwardSeconds = timers.backward / 1000;
      const evaluationStart = performance.now();
      const testAccuracy = evaluate(model, data.test);
      const record = {
        epoch, loss: lossSum / trainSize, trainAccuracy: correct / trainSize, testAccuracy,
        seconds, convForwardSeconds, convBackwardSeconds, evaluationSeconds: (performance.now() - evaluationStart) / 1000,
      };
      history.push(record);
      onEpoch(record);
    }
  } finally {
    optimizer.dispose();
  }
  return { model, history };
}

/** The share of `set` ({ images, labels, count }) the model classifies right, in batches of 500. */
export function evaluate(model, set, batchSize = 500) {
  let correct = 0;
  for (let first = 0; first < set.count; first += batchSize) {
    const count = Math.min(batchSize, set.count - first);
    correct += scope(() => {
      const x = tensor(set.images.subarray(first * PIXELS, (first + count) * PIXELS), [count, 1, IMAGE_SIZE, IMAGE_SIZE]);
      return countCorrect(model.forward(x), set.labels.subarray(first, first + count));
    });
  }
  return correct / set.count;
}

/** A layer that adds the wall time of its forward and backward calls to timers.forward and timers.backward (ms). */
class TimedLayer {
  constructor(layer, timers) {
    this.layer = layer;
    this.timers = timers;
  }
  forward(x) {
    const start = performance.now();
    try { return this.layer.forward(x); } finally { this.timers.forward += performance.now() - start; }
  }
  backward(dy, options) {
    const start = performance.now();
    try { return this.layer.backward(dy, options); } finally { this.timers.backward += performance.now() - start; }
  }
  parameters() { return this.layer.parameters(); }
  zeroGrad() { this.layer.zeroGrad(); }
  dispose() { this.layer.dispose(); }
}
