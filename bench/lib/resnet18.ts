// torchvision's ResNet-18 (BasicBlock, [2, 2, 2, 2], 1000 classes) built from this library's layers, seeded weights and non-default batch-norm statistics, for bench/onnx-inference.ts.

import { Sequential, Residual, Conv2d, BatchNorm2d, ReLU, MaxPool2d, AdaptiveAvgPool2d, Flatten, Linear } from "../../dist/index.js";
import { Random } from "../../js/core/random.ts";

/**
 * conv 7×7/2 (64) → BN → ReLU → max pool 3/2 pad 1 → stages of two BasicBlocks (64, 128, 256, 512; the
 * first block of stages 2–4 strided, with a 1×1/2 conv + BN shortcut) → adaptive average pool 1 →
 * flatten → linear 512 → 1000: 11,689,512 parameters, as torchvision.models.resnet18(). A BasicBlock is
 * conv 3×3 → BN → ReLU → conv 3×3 → BN, plus the shortcut, then ReLU. Convolutions have no bias.
 * Each layer draws its weights from its own seed, derived from `seed`; then `randomizeBatchNorm` gives
 * every batch norm γ ≈ 1, small β and random running statistics, so evaluation mode (and folding) is
 * not the identity. Built in the default runtime (the latest init()).
 */
export function resNet18(seed: number): Sequential {
  let next = seed * 256;
  const conv = (inChannels: number, outChannels: number, kernelSize: number, stride: number) =>
    new Conv2d({ inChannels, outChannels, kernelSize, stride, pad: (kernelSize - 1) / 2, bias: false, seed: ++next });
  const bn = (numFeatures: number) => new BatchNorm2d({ numFeatures });
  const block = (inC: number, outC: number, stride: number) => new Sequential([
    new Residual(
      new Sequential([conv(inC, outC, 3, stride), bn(outC), new ReLU(), conv(outC, outC, 3, 1), bn(outC)]),
      stride !== 1 || inC !== outC ? new Sequential([conv(inC, outC, 1, stride), bn(outC)]) : null,
    ),
    new ReLU(),
  ]);
  const stage = (inC: number, outC: number, stride: number) => [block(inC, outC, stride), block(outC, outC, 1)];
  const model = new Sequential([
    conv(3, 64, 7, 2), bn(64), new ReLU(), new MaxPool2d({ kernelSize: 3, stride: 2, pad: 1 }),
    ...stage(64, 64, 1), ...stage(64, 128, 2), ...stage(128, 256, 2), ...stage(256, 512, 2),
    new AdaptiveAvgPool2d(1), new Flatten(), new Linear({ inFeatures: 512, outFeatures: 1000, seed: ++next }),
  ]);
  randomizeBatchNorm(model, seed);
  return model;
}

/**
 * Writes, through stateDict(), every batch norm's running_mean ~ U(−0.2, 0.2), running_var ~ U(0.5, 2),
 * weight (γ) ~ U(0.8, 1.2) and bias (β) ~ U(−0.1, 0.1): trained-looking statistics, seeded.
 */
export function randomizeBatchNorm(model: Sequential, seed: number): void {
  const random = new Random(seed * 7919 + 17);
  const state = model.stateDict();
  for (const key of Object.keys(state).filter((k) => k.endsWith(".running_mean"))) {
    const prefix = key.slice(0, -".running_mean".length);
    const n = state[key]!.size;
    state[key]!.write(random.uniformArray(n, -0.2, 0.2));
    state[`${prefix}.running_var`]!.write(random.uniformArray(n, 0.5, 2));
    state[`${prefix}.weight`]?.write(random.uniformArray(n, 0.8, 1.2));
    state[`${prefix}.bias`]?.write(random.uniformArray(n, -0.1, 0.1));
  }
}
