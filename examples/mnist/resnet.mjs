// The small ResNet of npm run train:resnet and the browser page, and its training loop (cosine decay).

import { Sequential, Residual, Conv2d, BatchNorm2d, ReLU, AdaptiveAvgPool2d, Flatten, Linear } from "wasm-conv2d";
import { CLASSES } from "./data.mjs";
import { RESNET_DEFAULTS } from "./defaults.mjs";
import { TimedLayer, trainModel } from "./trainer.mjs";

export { RESNET_DEFAULTS };

/**
 * conv 3×3 (16) → batch norm → ReLU → basic blocks 16 → 16, 16 → 32 (stride 2) and 32 → 64 (stride 2)
 * → global average pooling → linear (10): ../shared/anchors/resnet.py's network, 77,754 parameters.
 * A basic block is torchvision's: conv 3×3 → BN → ReLU → conv 3×3 → BN, plus the input (or, where
 * the shape changes, a 1×1 strided conv and BN of it), then ReLU. The convolutions have no bias (the
 * batch norm after each has one). timers (optional) collect the convolutions' time.
 */
export function resNet(seed, timers = null) {
  let next = seed * 64;
  const conv = (inChannels, outChannels, kernelSize, stride) => {
    const layer = new Conv2d({ inChannels, outChannels, kernelSize, stride, pad: (kernelSize - 1) / 2, bias: false, seed: ++next });
    return timers ? new TimedLayer(layer, timers) : layer;
  };
  const bn = (numFeatures) => new BatchNorm2d({ numFeatures });
  const block = (inC, outC, stride) => new Sequential([
    new Residual(
      new Sequential([conv(inC, outC, 3, stride), bn(outC), new ReLU(), conv(outC, outC, 3, 1), bn(outC)]),
      stride !== 1 || inC !== outC ? new Sequential([conv(inC, outC, 1, stride), bn(outC)]) : null,
    ),
    new ReLU(),
  ]);
  return new Sequential([
    conv(1, 16, 3, 1), bn(16), new ReLU(),
    block(16, 16, 1), block(16, 32, 2), block(32, 64, 2),
    new AdaptiveAvgPool2d(1), new Flatten(), new Linear({ inFeatures: 64, outFeatures: CLASSES, seed: ++next }),
  ]);
}

/**
 * Trains a fresh ResNet with Adam, the learning rate decayed by a cosine from lr to 0 over all steps
 * (PyTorch's CosineAnnealingLR stepped per batch), and evaluates on data.test after each epoch (in
 * evaluation mode: batch norm with its running statistics). Callbacks and history as trainModel's.
 * Synchronous; returns { model, history } (dispose the model when done).
 */
export function trainResNet(data, options = {}, callbacks = {}) {
  const settings = { ...RESNET_DEFAULTS, ...options };
  const timers = { forward: 0, backward: 0 };
  const model = resNet(settings.seed, timers);
  const steps = settings.epochs * Math.ceil(Math.min(settings.trainSize, data.train.count) / settings.batchSize);
  const lrAt = (_epoch, step) => (settings.lr * (1 + Math.cos((Math.PI * step) / steps))) / 2;
  const history = trainModel(model, data, settings, lrAt, timers, callbacks);
  return { model, history };
}
