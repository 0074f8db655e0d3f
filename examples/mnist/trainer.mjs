// The training loop every MNIST example shares: Adam over seeded, shifted batches, the learning rate per step, a test-set evaluation per epoch.

import { Adam, softmaxCrossEntropy, countCorrect, tensor, scope } from "wasm-conv2d";
import { IMAGE_SIZE, PIXELS, epochBatches } from "./data.mjs";

/**
 * Trains model with Adam on data.train and evaluates it on data.test after each epoch (in evaluation
 * mode, then back to training). lrAt(epoch, step) gives the learning rate of each step (epoch from 1,
 * step from 0 across the run). Calls onBatch({ epoch, batch, batches, loss }) after every step and
 * onEpoch({ epoch, loss, trainAccuracy, testAccuracy, seconds, convForwardSeconds, convBackwardSeconds,
 * dataSeconds, evaluationSeconds }) after every epoch: seconds and the conv times (from timers, which
 * the model's timed layers fill in ms) cover the training steps alone — from the batch's upload to
 * the optimiser's step, as PyTorch's anchor (../shared/anchors/lenet.py) times its own; dataSeconds is
 * the time spent drawing and shifting the batches in JS, outside the steps. Synchronous; returns the history.
 */
export function trainModel(model, data, { epochs, batchSize, seed, maxShift, trainSize, lr }, lrAt, timers, { onBatch = () => {}, onEpoch = () => {} } = {}) {
  const size = Math.min(trainSize, data.train.count);
  const optimizer = new Adam(model.parameters(), { lr });
  const history = [];
  let step = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      timers.forward = timers.backward = 0;
      const start = performance.now();
      let lossSum = 0, correct = 0, stepMs = 0;
      for (const batch of epochBatches(data.train, { trainSize: size, batchSize, seed, epoch, maxShift })) {
        const stepStart = performance.now();
        optimizer.lr = lrAt(epoch, step++);
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
        stepMs += performance.now() - stepStart;
        lossSum += loss * batch.count;
        correct += hits;
        onBatch({ epoch, batch: batch.index + 1, batches: batch.batches, loss });
      }
      const seconds = stepMs / 1000, dataSeconds = (performance.now() - start - stepMs) / 1000;
      const convForwardSeconds = timers.forward / 1000, convBackwardSeconds = timers.backward / 1000;
      const evaluationStart = performance.now();
      const testAccuracy = evaluate(model, data.test);
      const record = {
        epoch, loss: lossSum / size, trainAccuracy: correct / size, testAccuracy,
        seconds, convForwardSeconds, convBackwardSeconds, dataSeconds, evaluationSeconds: (performance.now() - evaluationStart) / 1000,
      };
      history.push(record);
      onEpoch(record);
    }
  } finally {
    optimizer.dispose();
  }
  return history;
}

/** The share of `set` ({ images, labels, count }) the model classifies right, in batches of 500, in evaluation mode. */
export function evaluate(model, set, batchSize = 500) {
  model.eval?.();
  let correct = 0;
  try {
    for (let first = 0; first < set.count; first += batchSize) {
      const count = Math.min(batchSize, set.count - first);
      correct += scope(() => {
        const x = tensor(set.images.subarray(first * PIXELS, (first + count) * PIXELS), [count, 1, IMAGE_SIZE, IMAGE_SIZE]);
        return countCorrect(model.forward(x), set.labels.subarray(first, first + count));
      });
    }
  } finally {
    model.train?.();
  }
  return correct / set.count;
}

/** A layer that adds the wall time of its forward and backward calls to timers.forward and timers.backward (ms). */
export class TimedLayer {
  constructor(layer, timers) {
    this.layer = layer;
    this.timers = timers;
  }
  get name() { return this.layer.name; }
  get training() { return this.layer.training; }
  forward(x) {
    const start = performance.now();
    try { return this.layer.forward(x); } finally { this.timers.forward += performance.now() - start; }
  }
  backward(dy, options) {
    const start = performance.now();
    try { return this.layer.backward(dy, options); } finally { this.timers.backward += performance.now() - start; }
  }
  train(mode = true) { this.layer.train?.(mode); return this; }
  eval() { return this.train(false); }
  parameters() { return this.layer.parameters(); }
  stateDict() { return this.layer.stateDict(); }
  loadStateDict(dict, options) { return this.layer.loadStateDict(dict, options); }
  zeroGrad() { this.layer.zeroGrad(); }
  dispose() { this.layer.dispose(); }
}
