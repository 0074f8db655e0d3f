// The same LeNet in TensorFlow.js (cpu backend), trained on the same batches: the peer of examples/mnist/lenet.mjs.

import * as tf from "@tensorflow/tfjs";
import { CLASSES, IMAGE_SIZE, PIXELS, epochBatches } from "../../examples/mnist/data.mjs";
import { DEFAULTS } from "../../examples/mnist/lenet.mjs";

/**
 * tfjs's wasm backend cannot train this network (it has no Conv2DBackpropFilter), so the cpu backend.
 * Same layers (NHWC, which for one input channel is the same memory as NCHW), same "same" padding,
 * Adam with the same rate, decay and batches (epochBatches with the same seed); tfjs draws its own
 * initial weights (Glorot-uniform). Returns [{ epoch, loss, testAccuracy, seconds }].
 */
export async function trainTfjs(data, options = {}, onEpoch = () => {}) {
  await tf.setBackend("cpu");
  const { epochs, batchSize, lr, lrDecay, seed, maxShift } = { ...DEFAULTS, ...options };
  const trainSize = Math.min(options.trainSize ?? DEFAULTS.trainSize, data.train.count);
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [IMAGE_SIZE, IMAGE_SIZE, 1], filters: 8, kernelSize: 5, padding: "same", activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 5, padding: "same", activation: "relu" }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: CLASSES }),
    ],
  });
  const optimizer = tf.train.adam(lr, 0.9, 0.999, 1e-8);
  const history = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    // AdamOptimizer reads its learningRate field on every step: the same per-epoch schedule as ours.
    optimizer.learningRate = lr * lrDecay ** (epoch - 1);
    const start = performance.now();
    let lossSum = 0;
    for (const batch of epochBatches(data.train, { trainSize, batchSize, seed, epoch, maxShift })) {
      const loss = tf.tidy(() => optimizer.minimize(() => {
        const x = tf.tensor4d(batch.images, [batch.count, IMAGE_SIZE, IMAGE_SIZE, 1]);
        const y = tf.oneHot(tf.tensor1d(batch.labels, "int32"), CLASSES);
        return tf.losses.softmaxCrossEntropy(y, model.apply(x));
      }, true));
      lossSum += (await loss.data())[0] * batch.count;
      loss.dispose();
    }
    const seconds = (performance.now() - start) / 1000;
    const record = { epoch, loss: lossSum / trainSize, testAccuracy: evaluateTfjs(model, data.test), seconds };
    history.push(record);
    onEpoch(record);
  }
  model.dispose();
  optimizer.dispose();
  return history;
}

function evaluateTfjs(model, set, batchSize = 500) {
  let correct = 0;
  for (let first = 0; first < set.count; first += batchSize) {
    const count = Math.min(batchSize, set.count - first);
    correct += tf.tidy(() => {
      const x = tf.tensor4d(set.images.subarray(first * PIXELS, (first + count) * PIXELS), [count, IMAGE_SIZE, IMAGE_SIZE, 1]);
      const predicted = model.predict(x).argMax(1);
      return predicted.equal(tf.tensor1d(set.labels.subarray(first, first + count), "int32")).sum().dataSync()[0];
    });
  }
  return correct / set.count;
}
