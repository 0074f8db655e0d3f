// The portable suite's part for the layers after conv2d: transposed convolution, pooling, batch norm, activations, MSE, dropout and a ResNet block — against float64 references, their errors, their leaks and their bits.

import type * as Api from "../../dist/index.js";
import { firstMismatch } from "../reference/conv2d.ts";
import { referenceConvTranspose2d, type TransposedConfig } from "../reference/conv-transpose2d.ts";
import {
  poolOutputSize, referenceAdaptiveAvgPool2d, referenceAvgPool2d, referenceBatchNorm, referenceLeakyRelu, referenceMaxPool2d,
  referenceMse, referenceSigmoid, referenceTanh, type PoolConfig,
} from "../reference/layers.ts";
import { Random } from "../../js/core/random.ts";
import { randomData } from "./cases.ts";
import { errorCaseProblem, type ErrorCase } from "./error-cases.ts";

type ConvApi = typeof Api;
const between = (random: Random, low: number, high: number): number => low + Math.floor(random.uniform() * (high - low + 1));

/** A random transposed convolution (the reference's view); outputPadding below max(stride, dilation) as PyTorch requires. */
export function randomTransposed(random: Random): TransposedConfig {
  const groups = between(random, 1, 3);
  const c: TransposedConfig = {
    N: between(random, 1, 2), Cin: groups * between(random, 1, 3), Cout: groups * between(random, 1, 3), H: between(random, 1, 7), W: between(random, 1, 7),
    KH: between(random, 1, 4), KW: between(random, 1, 4), strideH: between(random, 1, 4), strideW: between(random, 1, 4),
    dilationH: between(random, 1, 3), dilationW: between(random, 1, 3), padTop: 0, padBottom: 0, padLeft: 0, padRight: 0,
    outputPadH: 0, outputPadW: 0, groups,
  };
  c.outputPadH = between(random, 0, Math.max(c.strideH, c.dilationH) - 1);
  c.outputPadW = between(random, 0, Math.max(c.strideW, c.dilationW) - 1);
  // Pads that leave at least one output row and column.
  const fullH = (c.H - 1) * c.strideH + c.dilationH * (c.KH - 1) + c.outputPadH + 1, fullW = (c.W - 1) * c.strideW + c.dilationW * (c.KW - 1) + c.outputPadW + 1;
  c.padTop = between(random, 0, Math.min(2, Math.floor((fullH - 1) / 2)));
  c.padBottom = between(random, 0, Math.min(2, Math.floor((fullH - 1) / 2)));
  c.padLeft = between(random, 0, Math.min(2, Math.floor((fullW - 1) / 2)));
  c.padRight = between(random, 0, Math.min(2, Math.floor((fullW - 1) / 2)));
  return c;
}

export const transposedOptions = (c: TransposedConfig): Api.ConvTranspose2dOptions => ({
  stride: [c.strideH, c.strideW], dilation: [c.dilationH, c.dilationW], groups: c.groups, outputPadding: [c.outputPadH, c.outputPadW],
  pad: { top: c.padTop, bottom: c.padBottom, left: c.padLeft, right: c.padRight },
});

/** A random pooling, its padding within PyTorch's half-window limit and the window fitting the padded input. */
export function randomPool(random: Random, dilated: boolean): PoolConfig {
  const KH = between(random, 1, 4), KW = between(random, 1, 4), dH = dilated ? between(random, 1, 2) : 1, dW = dilated ? between(random, 1, 2) : 1;
  const pH = between(random, 0, Math.floor((dH * (KH - 1) + 1) / 2)), pW = between(random, 0, Math.floor((dW * (KW - 1) + 1) / 2));
  return {
    planes: between(random, 1, 3), KH, KW, dH, dW, pH, pW, sH: between(random, 1, 3), sW: between(random, 1, 3),
    H: Math.max(between(random, 1, 11), dH * (KH - 1) + 1 - 2 * pH), W: Math.max(between(random, 1, 11), dW * (KW - 1) + 1 - 2 * pW),
    ceil: random.uniform() < 0.5, countIncludePad: random.uniform() < 0.5,
  };
}

const poolOptions = (c: PoolConfig) => ({ kernelSize: [c.KH, c.KW] as [number, number], stride: [c.sH, c.sW] as [number, number], pad: [c.pH, c.pW] as [number, number], ceilMode: c.ceil });

/**
 * `count` seeded cases each of convTranspose2d (y, dx, dw, db), maxPool2d, avgPool2d and
 * adaptiveAvgPool2d (y and dx), batch norm (training and evaluation: y, dx, dγ, dβ, the running
 * statistics) and the elementwise layers against the float64 references; the first mismatch or null.
 */
export function layerReferenceComparison(api: ConvApi, runtime: Api.Runtime, seed: number, count: number): string | null {
  const random = new Random(seed);
  for (let i = 0; i < count; i++) {
    const problem = transposedComparison(api, runtime, random) ?? poolComparison(api, runtime, random)
      ?? batchNormComparison(api, runtime, random) ?? elementwiseComparison(api, runtime, random);
    if (problem) return `seed ${seed}, case ${i}: ${problem}`;
  }
  return null;
}

function transposedComparison(api: ConvApi, runtime: Api.Runtime, random: Random): string | null {
  const t = (data: Float32Array, shape: readonly number[]) => api.tensor(data, shape, runtime);
  return api.scope((): string | null => {
    const c = randomTransposed(random), s = random.nextUint32();
    const x = randomData(s, c.N * c.Cin * c.H * c.W), w = randomData(s + 1, c.Cin * (c.Cout / c.groups) * c.KH * c.KW), b = randomData(s + 2, c.Cout);
    const dy = randomData(s + 3, referenceConvTranspose2d(c, x, w, b).out.length);
    const full = referenceConvTranspose2d(c, x, w, b, dy);
    const xt = t(x, [c.N, c.Cin, c.H, c.W]), wt = t(w, [c.Cin, c.Cout / c.groups, c.KH, c.KW]);
    const y = api.convTranspose2d(xt, wt, t(b, [c.Cout]), transposedOptions(c));
    if (y.shape.join() !== [c.N, c.Cout, full.outHeight, full.outWidth].join()) return `convTranspose2d shape ${y.shape} in ${JSON.stringify(c)}`;
    const g = api.convTranspose2dBackward(t(dy, y.shape), xt, wt, transposedOptions(c));
    for (const [name, got, want] of [["y", y, full.out], ["dx", g.dx!, full.dx], ["dw", g.dw!, full.dw], ["db", g.db!, full.db]] as const) {
      const m = firstMismatch(got.toFloat32Array(), want);
      if (m) return `convTranspose2d ${name}: ${m} in ${JSON.stringify(c)}`;
    }
    return null;
  });
}

function poolComparison(api: ConvApi, runtime: Api.Runtime, random: Random): string | null {
  const t = (data: Float32Array, shape: readonly number[]) => api.tensor(data, shape, runtime);
  return api.scope((): string | null => {
    for (const max of [true, false]) {
      const c = randomPool(random, max), s = random.nextUint32();
      const outH = poolOutputSize(c.H, c.KH, c.pH, c.sH, c.dH, c.ceil), outW = poolOutputSize(c.W, c.KW, c.pW, c.sW, c.dW, c.ceil);
      const xd = randomData(s, c.planes * c.H * c.W).map((v) => Math.round(v * 2) / 2), dyd = randomData(s + 1, c.planes * outH * outW);
      const x = t(xd, [1, c.planes, c.H, c.W]), dy = t(dyd, [1, c.planes, outH, outW]);
      const options = max ? { ...poolOptions(c), dilation: [c.dH, c.dW] as [number, number] } : { ...poolOptions(c), countIncludePad: c.countIncludePad };
      const ref = max ? referenceMaxPool2d(c, xd, dyd) : referenceAvgPool2d(c, xd, dyd);
      const y = max ? api.maxPool2d(x, options) : api.avgPool2d(x, options);
      const dx = max ? api.maxPool2dBackward(dy, x, options) : api.avgPool2dBackward(dy, x, options);
      const name = max ? "maxPool2d" : "avgPool2d";
      const m = firstMismatch(y.toFloat32Array(), ref.y) ?? firstMismatch(dx.toFloat32Array(), ref.dx);
      if (m) return `${name}: ${m} in ${JSON.stringify(c)}`;
    }
    const planes = between(random, 1, 3), H = between(random, 1, 12), W = between(random, 1, 12), oH = between(random, 1, H), oW = between(random, 1, W), s = random.nextUint32();
    const xd = randomData(s, planes * H * W), dyd = randomData(s + 1, planes * oH * oW);
    const ref = referenceAdaptiveAvgPool2d(planes, H, W, oH, oW, xd, dyd);
    const x = t(xd, [1, planes, H, W]);
    const m = firstMismatch(api.adaptiveAvgPool2d(x, [oH, oW]).toFloat32Array(), ref.y)
      ?? firstMismatch(api.adaptiveAvgPool2dBackward(t(dyd, [1, planes, oH, oW]), x, [oH, oW]).toFloat32Array(), ref.dx);
    return m ? `adaptiveAvgPool2d: ${m} for ${planes}×${H}×${W} → ${oH}×${oW}` : null;
  });
}

function batchNormComparison(api: ConvApi, runtime: Api.Runtime, random: Random): string | null {
  const N = between(random, 1, 3), C = between(random, 1, 4), H = between(random, 1, 5), W = between(random, 1, 5), s = random.nextUint32();
  // Four values at least: with two nearly equal ones dx is a difference of near-equal terms (test/nn/batch-norm.test.ts measures that case apart).
  if (N * H * W < 4) return null;
  const xd = randomData(s, N * C * H * W).map((v, i) => v * 3 + (i % 3)), dyd = randomData(s + 1, N * C * H * W);
  const gamma = randomData(s + 2, C), beta = randomData(s + 3, C);
  const bn = new api.BatchNorm2d({ numFeatures: C, runtime });
  try {
    return api.scope((): string | null => {
      bn.weight!.write(gamma);
      bn.bias!.write(beta);
      const x = api.tensor(xd, [N, C, H, W], runtime), dy = api.tensor(dyd, [N, C, H, W], runtime);
      const ref = referenceBatchNorm(xd, dyd, N, C, H * W, gamma, beta, 1e-5, null);
      const y = bn.forward(x);
      bn.zeroGrad();
      const dx = bn.backward(dy);
      const running = { mean: Float64Array.from(ref.mean, (m) => 0.1 * m), variance: Float64Array.from(ref.unbiased, (v) => 0.9 + 0.1 * v) };
      const m = firstMismatch(y.toFloat32Array(), ref.y) ?? firstMismatch(dx.toFloat32Array(), ref.dx)
        ?? firstMismatch(bn.weightGrad!.toFloat32Array(), ref.dGamma) ?? firstMismatch(bn.biasGrad!.toFloat32Array(), ref.dBeta)
        ?? firstMismatch(bn.runningMean!.toFloat32Array(), running.mean) ?? firstMismatch(bn.runningVar!.toFloat32Array(), running.variance);
      if (m) return `BatchNorm2d (training): ${m} for [${N}, ${C}, ${H}, ${W}]`;
      bn.eval();
      const fixed = referenceBatchNorm(xd, dyd, N, C, H * W, gamma, beta, 1e-5, { mean: bn.runningMean!.toFloat32Array(), variance: bn.runningVar!.toFloat32Array() });
      const e = firstMismatch(bn.forward(x).toFloat32Array(), fixed.y) ?? firstMismatch(bn.backward(dy).toFloat32Array(), fixed.dx);
      return e ? `BatchNorm2d (eval): ${e} for [${N}, ${C}, ${H}, ${W}]` : null;
    });
  } finally {
    bn.dispose();
  }
}

function elementwiseComparison(api: ConvApi, runtime: Api.Runtime, random: Random): string | null {
  const n = between(random, 1, 40), s = random.nextUint32();
  const xd = randomData(s, n).map((v) => v * 6), dyd = randomData(s + 1, n), td = randomData(s + 2, n);
  return api.scope((): string | null => {
    const x = api.tensor(xd, [n], runtime), dy = api.tensor(dyd, [n], runtime);
    const sig = referenceSigmoid(xd, dyd), th = referenceTanh(xd, dyd), lr = referenceLeakyRelu(xd, dyd, 0.2), mse = referenceMse(xd, td);
    const pairs: [string, ArrayLike<number>, ArrayLike<number>][] = [
      ["sigmoid", api.sigmoid(x).toFloat32Array(), sig.y], ["sigmoidBackward", api.sigmoidBackward(dy, x).toFloat32Array(), sig.dx],
      ["tanh", api.tanh(x).toFloat32Array(), th.y], ["tanhBackward", api.tanhBackward(dy, x).toFloat32Array(), th.dx],
      ["leakyRelu", api.leakyRelu(x, 0.2).toFloat32Array(), lr.y], ["leakyReluBackward", api.leakyReluBackward(dy, x, 0.2).toFloat32Array(), lr.dx],
    ];
    const { loss, grad } = api.mseLoss(x, api.tensor(td, [n], runtime));
    pairs.push(["mseLoss", [loss], [mse.loss]], ["mseLoss grad", grad.toFloat32Array(), mse.grad]);
    for (const [name, got, want] of pairs) {
      const m = firstMismatch(got, want);
      if (m) return `${name}: ${m} on ${n} values`;
    }
    return null;
  });
}

export const LAYER_ERROR_CASES = 16;

/** Bad input to each new function and layer: a ConvError with its code, nothing leaked, the runtime usable after. */
export function layerErrorCatalogue(api: ConvApi, runtime: Api.Runtime): string | null {
  const { ErrorCode: E } = api;
  const x = api.tensor(randomData(1, 2 * 4 * 6 * 6), [2, 4, 6, 6], runtime);
  const wt = api.tensor(randomData(2, 4 * 3 * 3 * 3), [4, 3, 3, 3], runtime);
  const bn = new api.BatchNorm2d({ numFeatures: 4, runtime });
  const cases: ErrorCase[] = [
    ["convTranspose2d: outputPadding 2 with stride 2", E.PAD, () => api.convTranspose2d(x, wt, null, { stride: 2, outputPadding: 2 })],
    ["convTranspose2d: w with 3 input channels for x's 4", E.CHANNELS, () => api.convTranspose2d(x, api.zeros([3, 3, 3, 3], runtime), null)],
    ["convTranspose2d: bias of 4 for 3 outputs", E.BIAS, () => api.convTranspose2d(x, wt, api.zeros([4], runtime))],
    ["convTranspose2dBackward: dy of the wrong shape", E.GRAD_SHAPE, () => api.convTranspose2dBackward(api.zeros([2, 3, 7, 7], runtime), x, wt)],
    ["convTranspose2d: pad that leaves no output", E.PAD, () => api.convTranspose2d(api.zeros([1, 4, 1, 1], runtime), api.zeros([4, 3, 1, 1], runtime), null, { pad: 1 })],
    ["maxPool2d: stride 0", E.STRIDE, () => api.maxPool2d(x, { kernelSize: 2, stride: 0 })],
    ["maxPool2d: pad above half the window", E.PAD, () => api.maxPool2d(x, { kernelSize: 2, pad: 2 })],
    ["maxPool2dBackward: dy of the wrong shape", E.GRAD_SHAPE, () => api.maxPool2dBackward(api.zeros([2, 4, 2, 2], runtime), x, { kernelSize: 2 })],
    ["avgPool2d: a 7×7 window on 6×6", E.KERNEL_TOO_LARGE, () => api.avgPool2d(x, { kernelSize: 7 })],
    ["avgPool2d: unknown option dilation", E.UNKNOWN_OPTION, () => api.avgPool2d(x, { kernelSize: 2, dilation: 2 } as never)],
    ["adaptiveAvgPool2d: output size 0", E.DIMENSION, () => api.adaptiveAvgPool2d(x, 0)],
    ["BatchNorm2d: x with 3 channels for 4 features", E.CHANNELS, () => bn.forward(api.zeros([2, 3, 6, 6], runtime))],
    ["BatchNorm2d: momentum 2", E.INVALID_OPTION, () => new api.BatchNorm2d({ numFeatures: 4, momentum: 2, runtime })],
    ["Dropout: p 1.5", E.INVALID_OPTION, () => new api.Dropout({ p: 1.5 })],
    ["mseLoss: target of another shape", E.SHAPE_MISMATCH, () => api.mseLoss(x, api.zeros([2, 4, 6, 5], runtime))],
    ["leakyRelu: slope NaN", E.INVALID_OPTION, () => api.leakyRelu(x, NaN)],
  ];
  try {
    if (cases.length !== LAYER_ERROR_CASES) return `expected ${LAYER_ERROR_CASES} cases, have ${cases.length}`;
    const problem = errorCaseProblem(api, runtime, cases);
    if (problem) return problem;
    const usable = api.scope(() => api.convTranspose2d(x, wt, null, { stride: 2 }).shape.join());
    return usable === "2,3,13,13" ? null : `the runtime is not usable after the errors: shape ${usable}`;
  } finally {
    for (const t of [x, wt]) t.dispose();
    bn.dispose();
  }
}

/** A ResNet basic block with a strided 1×1 shortcut, batch norm and dropout: the model the leak and hash checks train. */
export function resnetBlock(api: ConvApi, runtime: Api.Runtime): Api.Sequential {
  return new api.Sequential([
    new api.Residual(
      new api.Sequential([
        new api.Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 3, stride: 2, pad: 1, bias: false, seed: 1, runtime }),
        new api.BatchNorm2d({ numFeatures: 4, runtime }), new api.ReLU(),
        new api.Conv2d({ inChannels: 4, outChannels: 4, kernelSize: 3, pad: 1, bias: false, seed: 2, runtime }),
        new api.BatchNorm2d({ numFeatures: 4, runtime }),
      ]),
      new api.Sequential([
        new api.Conv2d({ inChannels: 3, outChannels: 4, kernelSize: 1, stride: 2, bias: false, seed: 3, runtime }),
        new api.BatchNorm2d({ numFeatures: 4, runtime }),
      ]),
    ),
    new api.ReLU(), new api.Dropout({ p: 0.25, seed: 4 }),
    new api.ConvTranspose2d({ inChannels: 4, outChannels: 2, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1, seed: 5, runtime }),
    new api.Tanh(), new api.MaxPool2d({ kernelSize: 3, stride: 2, pad: 1, ceilMode: true }), new api.AvgPool2d({ kernelSize: 2, countIncludePad: false }),
    new api.AdaptiveAvgPool2d(1), new api.Flatten(), new api.Sigmoid(),
  ]);
}

/** One training step of the block (SGD): forward, MSE against a target, backward, update; the loss. */
export function resnetBlockStep(api: ConvApi, runtime: Api.Runtime, model: Api.Sequential, optimizer: Api.SGD, step: number): number {
  return api.scope(() => {
    const x = api.tensor(randomData(100 + (step % 7), 2 * 3 * 8 * 8), [2, 3, 8, 8], runtime);
    const { loss, grad } = api.mseLoss(model.forward(x), api.tensor(randomData(200 + (step % 7), 2 * 2), [2, 2], runtime));
    optimizer.zeroGrad();
    model.backward(grad);
    optimizer.step();
    return loss;
  });
}

/** `steps` training steps of the block: bytes in use and the memory size the same after the first as after the last. */
export function resnetBlockNoLeak(api: ConvApi, runtime: Api.Runtime, steps: number): string | null {
  const model = resnetBlock(api, runtime);
  const optimizer = new api.SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  try {
    resnetBlockStep(api, runtime, model, optimizer, 0);
    model.eval();
    api.scope(() => model.forward(api.zeros([2, 3, 8, 8], runtime)));
    model.train();
    // One more step in training mode: a dropout mask comes back after an eval pass (512 bytes), once.
    resnetBlockStep(api, runtime, model, optimizer, 1);
    const before = runtime.memoryUsage();
    for (let i = 2; i <= steps + 1; i++) {
      const loss = resnetBlockStep(api, runtime, model, optimizer, i);
      if (!Number.isFinite(loss)) return `step ${i}: loss ${loss}`;
    }
    const after = runtime.memoryUsage();
    if (after.bytesInUse !== before.bytesInUse) return `bytes in use ${before.bytesInUse} → ${after.bytesInUse} over ${steps} steps`;
    if (after.wasmMemoryBytes !== before.wasmMemoryBytes) return `memory ${before.wasmMemoryBytes} → ${after.wasmMemoryBytes} bytes over ${steps} steps`;
    return null;
  } finally {
    optimizer.dispose();
    model.dispose();
  }
}

/**
 * The layers' share of the cross-runtime fingerprint: fixed seeded cases of every new op (forward and
 * backward), then 5 training steps of the ResNet block (its parameters after them, and an eval-mode
 * forward), as float32 arrays.
 */
export function layerResults(api: ConvApi, runtime: Api.Runtime): Float32Array[] {
  const parts: Float32Array[] = [];
  const random = new Random(20261201);
  for (let i = 0; i < 12; i++) {
    api.scope(() => {
      const c = randomTransposed(random), s = random.nextUint32();
      const x = api.tensor(randomData(s, c.N * c.Cin * c.H * c.W), [c.N, c.Cin, c.H, c.W], runtime);
      const w = api.tensor(randomData(s + 1, c.Cin * (c.Cout / c.groups) * c.KH * c.KW), [c.Cin, c.Cout / c.groups, c.KH, c.KW], runtime);
      const y = api.convTranspose2d(x, w, api.tensor(randomData(s + 2, c.Cout), [c.Cout], runtime), transposedOptions(c));
      const g = api.convTranspose2dBackward(api.tensor(randomData(s + 3, y.size), y.shape, runtime), x, w, transposedOptions(c));
      parts.push(y.toFloat32Array(), g.dx!.toFloat32Array(), g.dw!.toFloat32Array(), g.db!.toFloat32Array());
      const p = randomPool(random, true), px = api.tensor(randomData(s + 4, p.planes * p.H * p.W), [1, p.planes, p.H, p.W], runtime);
      const maxOptions = { ...poolOptions(p), dilation: [p.dH, p.dW] as [number, number] };
      const my = api.maxPool2d(px, maxOptions);
      parts.push(my.toFloat32Array(), api.maxPool2dBackward(api.tensor(randomData(s + 5, my.size), my.shape, runtime), px, maxOptions).toFloat32Array());
      const a = randomPool(random, false), ax = api.tensor(randomData(s + 6, a.planes * a.H * a.W), [1, a.planes, a.H, a.W], runtime);
      const avgOptions = { ...poolOptions(a), countIncludePad: a.countIncludePad };
      const ay = api.avgPool2d(ax, avgOptions);
      parts.push(ay.toFloat32Array(), api.avgPool2dBackward(api.tensor(randomData(s + 7, ay.size), ay.shape, runtime), ax, avgOptions).toFloat32Array());
    });
  }
  const model = resnetBlock(api, runtime);
  const optimizer = new api.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 });
  try {
    for (let step = 0; step < 5; step++) parts.push(Float32Array.of(resnetBlockStep(api, runtime, model, optimizer, step)));
    for (const p of model.parameters()) parts.push(p.value.toFloat32Array());
    model.eval();
    parts.push(api.scope(() => model.forward(api.tensor(randomData(300, 2 * 3 * 8 * 8), [2, 3, 8, 8], runtime)).toFloat32Array()));
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  return parts;
}
