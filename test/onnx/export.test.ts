// exportOnnx: LeNet, a small ResNet and models of every other layer, written to ONNX and run in onnxruntime-web and -node against forward(), checked by onnx.checker; and its errors.

import { describe, it, expect, beforeAll } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ortWeb from "onnxruntime-web";
import * as ortNode from "onnxruntime-node";
import {
  init, tensor, scope, Sequential, Residual, Conv2d, ConvTranspose2d, Linear, BatchNorm2d, ReLU, Sigmoid, Tanh, LeakyReLU, Dropout,
  MaxPool2x2, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, ConvError, ErrorCode, SGD, type Layer, type Tensor,
} from "../../js/index.js";
import { exportOnnx, importOnnx, type OnnxExportContext, type OnnxValue } from "../../js/onnx/index.js";
import { decodeModel } from "../../js/onnx/proto.js";
import { product, randomData } from "../helpers/setup.js";

ortWeb.env.wasm.numThreads = 1;

beforeAll(async () => {
  await init();
});

/** A LeNet: "same" convolutions (the second strided, so its pads differ per side), pools, Dropout (left out), two Linear. */
function leNet(): Layer {
  return new Sequential([
    new Conv2d({ inChannels: 1, outChannels: 6, kernelSize: 5, pad: "same", seed: 1 }), new ReLU(), new MaxPool2x2(),
    new Conv2d({ inChannels: 6, outChannels: 8, kernelSize: 3, stride: 2, pad: "same", seed: 2 }), new ReLU(),
    new Flatten(), new Dropout({ p: 0.3 }), new Linear({ inFeatures: 8 * 4 * 4, outFeatures: 16, seed: 3 }), new ReLU(),
    new Linear({ inFeatures: 16, outFeatures: 10, seed: 4 }),
  ]);
}

const bn = (numFeatures: number, affine = true) => new BatchNorm2d({ numFeatures, affine, eps: 1e-3, momentum: 0.3 });

/** A ResNet: a stem, a block with an identity shortcut, a downsampling block with a 1×1 shortcut, a global pool and a classifier. */
function resNet(): Layer {
  const conv = (inChannels: number, outChannels: number, kernelSize: number, stride: number, seed: number) =>
    new Conv2d({ inChannels, outChannels, kernelSize, stride, pad: (kernelSize - 1) / 2, bias: false, seed });
  return new Sequential([
    conv(3, 8, 3, 1, 1), bn(8), new ReLU(),
    new Residual(new Sequential([conv(8, 8, 3, 1, 2), bn(8), new ReLU(), conv(8, 8, 3, 1, 3), bn(8, false)])), new ReLU(),
    new Residual(new Sequential([conv(8, 16, 3, 2, 4), bn(16), new ReLU(), conv(16, 16, 3, 1, 5), bn(16)]),
      new Sequential([conv(8, 16, 1, 2, 6), bn(16)])),
    new ReLU(), new AdaptiveAvgPool2d(1), new Flatten(), new Linear({ inFeatures: 16, outFeatures: 10, seed: 7 }),
  ]);
}

/** Grouped, dilated and per-side padded convolution, a transposed one, the activations and pools with padding and ceil mode. */
function others(head: "spatial" | "pooled"): Layer {
  const body: Layer[] = [
    new Conv2d({ inChannels: 4, outChannels: 8, kernelSize: 3, groups: 2, dilation: 2, pad: { top: 1, bottom: 0, left: 2, right: 1 }, seed: 1 }),
    new LeakyReLU({ negativeSlope: 0.2 }),
    new ConvTranspose2d({ inChannels: 8, outChannels: 6, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1, groups: 2, seed: 2 }),
    new Sigmoid(),
    new MaxPool2d({ kernelSize: 3, stride: 2, pad: 1, ceilMode: true }),
    new Tanh(),
    new MaxPool2d({ kernelSize: 2, stride: 1, dilation: 2 }),
    new AvgPool2d({ kernelSize: 3, stride: 2, pad: 1, ceilMode: true, countIncludePad: false }),
    new AvgPool2d({ kernelSize: 2, stride: 1, pad: 1 }),
  ];
  // 11×11 in: 8×10 → 16×20 → 9×11 → 7×9 → 4×5 → 5×6 here.
  const tail = head === "spatial"
    ? [new AdaptiveAvgPool2d([5, 3])]
    : [new AdaptiveAvgPool2d(1), new Flatten(), new Linear({ inFeatures: 6, outFeatures: 3, seed: 3 })];
  return new Sequential([...body, ...tail]);
}

/** y = 2·inner(x), written through the hook: a layer of one's own that can be exported. */
class Doubled implements Layer {
  constructor(readonly inner: Layer) {}
  forward(x: Tensor): Tensor {
    return scope(() => {
      const y = this.inner.forward(x);
      return tensor(y.toFloat32Array().map((v) => 2 * v), y.shape);
    });
  }
  backward(): Tensor { throw new Error("not used"); }
  parameters() { return this.inner.parameters().map((p) => ({ ...p, name: `inner.${p.name}` })); }
  zeroGrad(): void {}
  dispose(): void { this.inner.dispose(); }
  train(mode = true) { this.inner.train?.(mode); return this; }
  eval() { return this.train(false); }
  toOnnxNodes(ctx: OnnxExportContext): OnnxValue {
    const y = ctx.layer(this.inner, ctx.input, "inner");
    const two = ctx.initializer(`${ctx.prefix}two`, [], new Float32Array([2]));
    return { name: ctx.node("Mul", [y.name, two])[0]!, shape: y.shape };
  }
}

/** Moves the batch norms' running statistics and affine parameters off their defaults: a few training forwards, then weights of our own. */
function trainStatistics(model: Layer, inputShape: number[]): void {
  model.train?.(true);
  for (let step = 0; step < 3; step++) {
    scope(() => {
      const x = tensor(randomData(100 + step, product(inputShape)).map((v) => 2 * v + 0.5), inputShape);
      model.forward(x);
    });
  }
  // γ and β (and the classifier's bias): every rank-1 parameter, around 1.
  model.parameters().forEach((p, i) => { if (p.value.shape.length === 1) p.value.write(randomData(i, p.value.size).map((v) => 1 + 0.5 * v)); });
}

/** The tolerance: float32 forward passes of a few hundred multiply-adds, summed in different orders by two libraries. */
function expectClose(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  let worst = 0, scale = 1;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  expect(worst, `${what}: max |Δ| ${worst} for max |y| ${scale}`).toBeLessThanOrEqual(1e-4 * scale);
}

async function runIn(runtime: "web" | "node", bytes: Uint8Array, x: Float32Array, shape: number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  if (runtime === "web") {
    const session = await ortWeb.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
    const out = Object.values(await session.run({ input: new ortWeb.Tensor("float32", x, shape) }))[0]!;
    const result = { data: (out.data as Float32Array).slice(), dims: out.dims };
    await session.release();
    return result;
  }
  const session = await ortNode.InferenceSession.create(bytes, { executionProviders: ["cpu"], intraOpNumThreads: 1 });
  const out = Object.values(await session.run({ input: new ortNode.Tensor("float32", x, shape) }))[0]!;
  const result = { data: (out.data as Float32Array).slice(), dims: out.dims };
  await session.release();
  return result;
}

/** Exports with a batch of 3 and compares both runtimes to forward() on batches of 3 and 5 (the batch axis is symbolic). */
async function expectSameAsForward(model: Layer, inputShape: number[], opset?: number): Promise<Uint8Array> {
  model.eval?.();
  const bytes = exportOnnx(model, { inputShape, opset });
  for (const batch of [3, 5]) {
    const shape = [batch, ...inputShape.slice(1)];
    const x = randomData(batch, product(shape));
    const { y, dims } = scope(() => {
      const out = model.forward(tensor(x, shape));
      return { y: out.toFloat32Array(), dims: out.shape };
    });
    for (const runtime of ["web", "node"] as const) {
      const out = await runIn(runtime, bytes, x, shape);
      expect([...out.dims], `${runtime}, batch ${batch}`).toEqual([...dims]);
      expectClose(out.data, y, `onnxruntime-${runtime}, batch ${batch}`);
    }
  }
  return bytes;
}

/** onnx.checker.check_model(full_check=True) through python3-onnx: a failure under CI when it is missing, a skip elsewhere. */
const PYTHON = "/usr/bin/python3";
const hasOnnx = spawnSync(PYTHON, ["-c", "import onnx"], { stdio: "ignore" }).status === 0;

function checkerErrors(bytes: Uint8Array): string | null {
  const dir = mkdtempSync(join(tmpdir(), "onnx-export-"));
  try {
    const path = join(dir, "model.onnx");
    writeFileSync(path, bytes);
    const run = spawnSync(PYTHON, ["-c", "import onnx, sys; onnx.checker.check_model(sys.argv[1], full_check=True)", path], { encoding: "utf8" });
    return run.status === 0 ? null : `${run.stderr}${run.stdout}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("exportOnnx runs in onnxruntime-web and onnxruntime-node as forward() computes, for batches of 3 and 5", () => {
  it("a LeNet (pad \"same\", asymmetric where strided; MaxPool2x2, Flatten, Linear; Dropout left out)", async () => {
    await expectSameAsForward(leNet(), [3, 1, 16, 16]);
  });

  it("a ResNet with identity and 1×1 shortcuts and batch norms in evaluation mode, with trained running statistics", async () => {
    const model = resNet();
    trainStatistics(model, [4, 3, 12, 12]);
    const bytes = await expectSameAsForward(model, [3, 3, 12, 12]);
    const graph = decodeModel(bytes).graph!;
    const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
    for (const p of model.parameters()) {
      const t = initializers.get(p.name);
      expect(t, p.name).toBeDefined();
      expect(t!.dims.map(Number), p.name).toEqual([...p.value.shape]);
      expect(new Float32Array(t!.rawData.slice().buffer), p.name).toEqual(p.value.toFloat32Array());
    }
    for (const name of ["1.running_mean", "1.running_var", "3.main.1.running_var", "5.shortcut.1.running_mean", "3.main.4.weight"]) {
      expect(initializers.has(name), name).toBe(true);
    }
    expect(graph.node.filter((n) => n.opType === "Add")).toHaveLength(2);
    expect(graph.node.filter((n) => n.opType === "BatchNormalization")).toHaveLength(6);
  });

  it("grouped, dilated, per-side padded and transposed convolutions, the activations, and pools with padding, dilation and ceil mode", async () => {
    await expectSameAsForward(others("spatial"), [3, 4, 11, 11]);
    await expectSameAsForward(others("pooled"), [3, 4, 11, 11]);
  });

  it("pools in ceil mode whose last window would start in the padding (PyTorch drops it), max and average with the padding counted", async () => {
    // 7×8, kernel 2, stride 3, pad 1: ⌈(7 + 2 − 2) / 3⌉ + 1 = 4 rows, but the 4th would start at row 9 − 1 = 8 ≥ 7 + 1, so 3.
    for (const pool of [new MaxPool2d({ kernelSize: 2, stride: 3, pad: 1, ceilMode: true }),
      new AvgPool2d({ kernelSize: 2, stride: 3, pad: 1, ceilMode: true }), new AvgPool2d({ kernelSize: [3, 2], stride: 2, pad: 1, ceilMode: true })]) {
      await expectSameAsForward(pool, [3, 2, 7, 8]);
    }
  });

  it("a layer of one's own through its toOnnxNodes(ctx) hook, a library layer inside it written by ctx.layer", async () => {
    const model = new Sequential([new Doubled(new Conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, pad: 1, seed: 5 })), new Tanh()]);
    const bytes = await expectSameAsForward(model, [3, 2, 6, 6]);
    expect(decodeModel(bytes).graph!.initializer.map((t) => t.name)).toEqual(["0.inner.weight", "0.inner.bias", "0.two"]);
  });

  it("every opset from 11 to 20, with its IR version; the batch axis fixed when dynamicBatch is false", async () => {
    for (const [opset, ir] of [[11, 6], [13, 7], [17, 8], [20, 9]] as const) {
      const bytes = await expectSameAsForward(leNet(), [3, 1, 16, 16], opset);
      const model = decodeModel(bytes);
      expect([model.irVersion, model.opsetImport[0]!.version], `opset ${opset}`).toEqual([BigInt(ir), BigInt(opset)]);
    }
    const model = leNet();
    const fixed = decodeModel(exportOnnx(model, { inputShape: [2, 1, 16, 16], dynamicBatch: false, inputName: "x", outputName: "logits" })).graph!;
    const dims = (v: (typeof fixed.input)[number]) => (v.type!.value.value as { shape: { dim: { value: { value: unknown } }[] } }).shape.dim.map((d) => d.value.value);
    expect([fixed.input[0]!.name, dims(fixed.input[0]!)]).toEqual(["x", [2n, 1n, 16n, 16n]]);
    expect([fixed.output[0]!.name, dims(fixed.output[0]!)]).toEqual(["logits", [2n, 10n]]);
    const dynamic = decodeModel(exportOnnx(model, { inputShape: [2, 1, 16, 16] })).graph!;
    expect(dims(dynamic.input[0]!)).toEqual(["batch", 1n, 16n, 16n]);
  });

  it("a model that is the identity in evaluation mode (a lone Dropout) gets an Identity node", async () => {
    const bytes = await expectSameAsForward(new Dropout(), [3, 5]);
    expect(decodeModel(bytes).graph!.node.map((n) => n.opType)).toEqual(["Identity"]);
  });
});

describe("onnx.checker", () => {
  it("passes every exported model with full_check (shape inference against the shapes written)", (ctx) => {
    if (!hasOnnx) {
      // Under CI python3-onnx is installed by .ci/run: its absence is a failure there, not a reason to skip.
      if (process.env.CI) expect.fail(`${PYTHON} cannot import onnx (python3-onnx): .ci/run installs it`);
      ctx.skip(`${PYTHON} cannot import onnx: install python3-onnx to run onnx.checker`);
    }
    const resnet = resNet();
    trainStatistics(resnet, [4, 3, 12, 12]);
    const models: [string, Layer, number[]][] = [
      ["LeNet", leNet(), [3, 1, 16, 16]], ["ResNet", resnet, [3, 3, 12, 12]],
      ["others, spatial", others("spatial"), [3, 4, 11, 11]], ["others, pooled", others("pooled"), [3, 4, 11, 11]],
      ["a ceil-mode pool that needs a Slice", new AvgPool2d({ kernelSize: 2, stride: 3, pad: 1, ceilMode: true }), [3, 2, 7, 8]],
    ];
    for (const [name, model, inputShape] of models) {
      for (const dynamicBatch of [true, false]) expect(checkerErrors(exportOnnx(model, { inputShape, dynamicBatch })), name).toBeNull();
    }
  });
});

describe("exportOnnx's errors", () => {
  const thrown = (f: () => unknown): ConvError => {
    try {
      f();
    } catch (error) {
      expect(error).toBeInstanceOf(ConvError);
      return error as ConvError;
    }
    throw new Error("expected a ConvError");
  };

  it("names every layer it cannot write at once, by place and name", () => {
    class Mine implements Layer {
      forward(x: Tensor) { return x; }
      backward(dy: Tensor) { return dy; }
      parameters() { return []; }
      zeroGrad() {}
      dispose() {}
    }
    const model = new Sequential([new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }), new Mine(), new ReLU(), new Residual(new Mine())]);
    const e = thrown(() => exportOnnx(model, { inputShape: [1, 1, 8, 8] }));
    expect(e.code).toBe(ErrorCode.UNSUPPORTED);
    expect(e.message).toMatch(/^exportOnnx: model: expected Sequential, Residual, Conv2d, .* or layers with a toOnnxNodes\(ctx\) method, received /);
    expect(e.received).toBe("layers[1] (a Mine), layers[3].main (a Mine)");
    expect(thrown(() => exportOnnx(new Mine(), { inputShape: [1, 4] })).received).toBe("model (a Mine)");
    // Inside a layer with a hook, ctx.layer meets it only while writing.
    const hooked = thrown(() => exportOnnx(new Sequential([new Doubled(new Mine())]), { inputShape: [1, 4] }));
    expect([hooked.code, hooked.message]).toEqual([ErrorCode.UNSUPPORTED, expect.stringMatching(/layers\[0\]\.inner/)]);
  });

  it("rejects a bad inputShape, and one the model does not fit, naming the layer", () => {
    const model = leNet();
    for (const inputShape of [[1, 1, 16], [1, 1, 16, 0], [1, 1, 16, 2.5], "1,1,16,16"] as unknown as number[][]) {
      const e = thrown(() => exportOnnx(model, { inputShape }));
      expect([ErrorCode.RANK, ErrorCode.DIMENSION], String(inputShape)).toContain(e.code);
      expect(e.message).toMatch(/^exportOnnx: options\.inputShape/);
    }
    const wrongChannels = thrown(() => exportOnnx(model, { inputShape: [1, 3, 16, 16] }));
    expect(wrongChannels.code).toBe(ErrorCode.CHANNELS);
    expect(wrongChannels.message).toMatch(/^exportOnnx: layers\[0\], a Conv2d\(1 → 6, 5×5\): /);
    const unflattened = thrown(() => exportOnnx(new Sequential([new Linear({ inFeatures: 4, outFeatures: 2 })]), { inputShape: [1, 1, 2, 2] }));
    expect([unflattened.code, unflattened.message]).toEqual([ErrorCode.CHANNELS, expect.stringMatching(/^exportOnnx: layers\[0\], a Linear\(4 → 2\)/)]);
  });

  it("rejects an opset outside 11–20, unknown options and bad names", () => {
    for (const opset of [10, 21, 17.5, "17"]) {
      const e = thrown(() => exportOnnx(leNet(), { inputShape: [1, 1, 16, 16], opset: opset as number }));
      expect([e.code, e.argument], String(opset)).toEqual([ErrorCode.INVALID_OPTION, "options.opset"]);
    }
    expect(thrown(() => exportOnnx(leNet(), { inputShape: [1, 1, 16, 16], batch: true } as never)).code).toBe(ErrorCode.UNKNOWN_OPTION);
    expect(thrown(() => exportOnnx(leNet(), { inputShape: [1, 1, 16, 16], inputName: "y", outputName: "y" })).argument).toBe("options.outputName");
    expect(thrown(() => exportOnnx(leNet(), { inputShape: [1, 1, 16, 16], inputName: "" })).argument).toBe("options.inputName");
    expect(thrown(() => exportOnnx({} as Layer, { inputShape: [1, 1, 16, 16] })).argument).toBe("model");
  });

  it("refuses what ONNX's evaluation-mode graph cannot say: batch statistics in evaluation, adaptive pools of unequal windows", () => {
    const batchStats = new Sequential([new BatchNorm2d({ numFeatures: 2, trackRunningStats: false })]);
    const e = thrown(() => exportOnnx(batchStats, { inputShape: [2, 2, 4, 4] }));
    expect([e.code, e.message]).toEqual([ErrorCode.UNSUPPORTED, expect.stringMatching(/^exportOnnx: layers\[0\], a BatchNorm2d\(2\): .*trackRunningStats/)]);
    const adaptive = thrown(() => exportOnnx(new AdaptiveAvgPool2d(3), { inputShape: [1, 2, 8, 8] }));
    expect([adaptive.code, adaptive.received]).toEqual([ErrorCode.UNSUPPORTED, "3×3"]);
    // An output size that divides the input's is an AveragePool.
    expect(decodeModel(exportOnnx(new AdaptiveAvgPool2d([2, 4]), { inputShape: [1, 2, 8, 8] })).graph!.node[0]!.opType).toBe("AveragePool");
  });
});

describe("round trips: exported here and imported here, imported and exported again", () => {
  /** forward() in eval mode of a model on a seeded batch. */
  const outputOf = (model: Layer, shape: number[]) => scope(() => model.forward(tensor(randomData(9, product(shape)), shape)).toFloat32Array());

  it.each([["a LeNet", leNet, [3, 1, 16, 16]], ["a ResNet", resNet, [3, 3, 12, 12]], ["the other layers", () => others("pooled"), [3, 4, 11, 11]],
    ["ceil-mode pools (a Slice after them)", () => new AvgPool2d({ kernelSize: 2, stride: 3, pad: 1, ceilMode: true }), [3, 2, 7, 8]]] as const)(
    "%s exported and imported by importOnnx computes what it did, and names its parameters as it did", (_name, build, shape) => {
      const model = build();
      if (model instanceof Sequential && model.layers.some((l) => l instanceof BatchNorm2d)) trainStatistics(model, [4, ...shape.slice(1)]);
      model.eval?.();
      const imported = importOnnx(exportOnnx(model, { inputShape: shape })).eval();
      expectClose(outputOf(imported, [...shape]), outputOf(model, [...shape]), "imported");
      // A batch norm without affine is written with ones and zeros for γ and β: those come back as parameters too.
      expect(imported.parameters().map((p) => p.name)).toEqual(expect.arrayContaining(model.parameters().map((p) => p.name)));
      for (const m of [model, imported]) m.dispose();
    });

  it("a PyTorch export, imported, fine-tuned and exported again, runs in both onnxruntimes and here as the fine-tuned model does", async () => {
    const model = importOnnx(readFileSync(new URL("../fixtures/models/resnet-bn.onnx", import.meta.url)));
    const sgd = new SGD(model.parameters(), { lr: 0.02 });
    for (let step = 0; step < 3; step++) {
      scope(() => {
        model.zeroGrad();
        const y = model.forward(tensor(randomData(step, 4 * 784), [4, 1, 28, 28]));
        model.backward(tensor(randomData(50 + step, 40), [4, 10]), { inputGrad: false });
        y.dispose();
      });
      sgd.step();
    }
    model.eval();
    const shape = [3, 1, 28, 28];
    const x = randomData(77, product(shape));
    const want = scope(() => model.forward(tensor(x, shape)).toFloat32Array());
    const bytes = exportOnnx(model, { inputShape: shape });
    for (const runtime of ["web", "node"] as const) {
      const out = await runIn(runtime, bytes, x, shape);
      expectClose(out.data, want, `onnxruntime-${runtime}`);
    }
    const again = importOnnx(bytes).eval();
    expect(scope(() => again.forward(tensor(x, shape)).toFloat32Array())).toEqual(want);
    for (const m of [model, again]) m.dispose();
  });
});
