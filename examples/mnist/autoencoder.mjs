// The conv autoencoder of npm run train:autoencoder and the browser page: strided convs down to 4×7×7, transposed convs back up, and its training loop.

import { Sequential, Conv2d, ConvTranspose2d, ReLU, Sigmoid, Adam, mseLoss, tensor, scope } from "wasm-conv2d";
import { IMAGE_SIZE, PIXELS, PIXEL_MEAN, PIXEL_STD, epochBatches } from "./data.mjs";
import { AUTOENCODER_DEFAULTS } from "./defaults.mjs";

export { AUTOENCODER_DEFAULTS };

/**
 * Encoder: conv 3×3 stride 2 (1 → 16, 28² → 14²) → ReLU → conv 3×3 stride 2 (16 → 32, → 7²) → ReLU →
 * conv 1×1 (32 → 4): a code of 4 × 7 × 7 = 196 numbers for 784 pixels. Decoder: transposed conv 3×3
 * (4 → 32) → ReLU → transposed conv 3×3 stride 2, output padding 1 (32 → 16, → 14²) → ReLU →
 * transposed conv 3×3 stride 2, output padding 1 (16 → 1, → 28²) → sigmoid: pixels in [0, 1].
 */
export function autoencoder(seed) {
  let next = seed * 64;
  return new Sequential([
    new Conv2d({ inChannels: 1, outChannels: 16, kernelSize: 3, stride: 2, pad: 1, seed: ++next }), new ReLU(),
    new Conv2d({ inChannels: 16, outChannels: 32, kernelSize: 3, stride: 2, pad: 1, seed: ++next }), new ReLU(),
    new Conv2d({ inChannels: 32, outChannels: 4, kernelSize: 1, seed: ++next }),
    new ConvTranspose2d({ inChannels: 4, outChannels: 32, kernelSize: 3, pad: 1, seed: ++next }), new ReLU(),
    new ConvTranspose2d({ inChannels: 32, outChannels: 16, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1, seed: ++next }), new ReLU(),
    new ConvTranspose2d({ inChannels: 16, outChannels: 1, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1, seed: ++next }), new Sigmoid(),
  ]);
}

/** The digits' pixels in [0, 1] (what the decoder is asked to give back) from their standardised values. */
export function pixelsOf(standardised) {
  const pixels = new Float32Array(standardised.length);
  for (let i = 0; i < pixels.length; i++) pixels[i] = standardised[i] * PIXEL_STD + PIXEL_MEAN;
  return pixels;
}

/**
 * Trains a fresh autoencoder with Adam (lr · lrDecay^(epoch − 1)) to give back each training digit's
 * pixels, and measures the mean squared error per pixel on data.test after each epoch. Calls
 * onBatch({ epoch, batch, batches, loss }) after every step and onEpoch({ epoch, loss, testError,
 * seconds, evaluationSeconds }) after every epoch. Synchronous; returns { model, history }.
 */
export function trainAutoencoder(data, options = {}, { onBatch = () => {}, onEpoch = () => {} } = {}) {
  const { epochs, batchSize, lr, lrDecay, seed, maxShift, trainSize } = { ...AUTOENCODER_DEFAULTS, ...options };
  const size = Math.min(trainSize, data.train.count);
  const model = autoencoder(seed);
  const optimizer = new Adam(model.parameters(), { lr });
  const history = [];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      optimizer.lr = lr * lrDecay ** (epoch - 1);
      const start = performance.now();
      let lossSum = 0;
      for (const batch of epochBatches(data.train, { trainSize: size, batchSize, seed, epoch, maxShift })) {
        const loss = scope(() => {
          const shape = [batch.count, 1, IMAGE_SIZE, IMAGE_SIZE];
          const { loss, grad } = mseLoss(model.forward(tensor(batch.images, shape)), tensor(pixelsOf(batch.images), shape));
          optimizer.zeroGrad();
          model.backward(grad, { inputGrad: false });
          optimizer.step();
          return loss;
        });
        lossSum += loss * batch.count;
        onBatch({ epoch, batch: batch.index + 1, batches: batch.batches, loss });
      }
      const seconds = (performance.now() - start) / 1000;
      const evaluationStart = performance.now();
      const testError = reconstructionError(model, data.test);
      const record = { epoch, loss: lossSum / size, testError, seconds, evaluationSeconds: (performance.now() - evaluationStart) / 1000 };
      history.push(record);
      onEpoch(record);
    }
  } finally {
    optimizer.dispose();
  }
  return { model, history };
}

/** The mean squared error per pixel (pixels in [0, 1]) of model's reconstructions of set, in batches of 500, in evaluation mode. */
export function reconstructionError(model, set, batchSize = 500) {
  model.eval();
  let sum = 0;
  try {
    for (let first = 0; first < set.count; first += batchSize) {
      const count = Math.min(batchSize, set.count - first);
      const images = set.images.subarray(first * PIXELS, (first + count) * PIXELS);
      const shape = [count, 1, IMAGE_SIZE, IMAGE_SIZE];
      sum += count * scope(() => mseLoss(model.forward(tensor(images, shape)), tensor(pixelsOf(images), shape), { grad: false }).loss);
    }
  } finally {
    model.train();
  }
  return sum / set.count;
}

/** The mean squared error per pixel of the best constant guess: every test digit replaced by the training digits' mean image. */
export function meanImageError(data) {
  const mean = new Float64Array(PIXELS);
  const train = pixelsOf(data.train.images), test = pixelsOf(data.test.images);
  for (let i = 0; i < train.length; i++) mean[i % PIXELS] += train[i] / data.train.count;
  let sum = 0;
  for (let i = 0; i < test.length; i++) sum += (test[i] - mean[i % PIXELS]) ** 2;
  return sum / test.length;
}

/** The reconstructions [count, 784] (pixels in [0, 1]) of set's first count digits, in evaluation mode. */
export function reconstruct(model, set, count) {
  model.eval();
  try {
    return scope(() => model.forward(tensor(set.images.subarray(0, count * PIXELS), [count, 1, IMAGE_SIZE, IMAGE_SIZE])).toFloat32Array());
  } finally {
    model.train();
  }
}
