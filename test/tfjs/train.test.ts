// End to end with tf.layers: a conv net that tfjs's wasm backend cannot train trains with the plugin, its losses match tfjs's own cpu kernels', 1,000 steps leak nothing, and 2 threads give 1 thread's bits.

import { describe, it, expect, afterEach } from "vitest";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import { memoryUsage } from "../../js/index.js";
import { registerTfjsKernels, type RegisterTfjsKernelsOptions, type TfjsNamespace, type TfjsRegistration } from "../../js/tfjs/index.js";
import { registerTfjsKernels as registerBuilt } from "../../dist/tfjs/index.js";
import { rng } from "../helpers/seeded.js";

const ns: TfjsNamespace = tf;

const uniform = (n: number, seed: number) => {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => 2 * next() - 1);
};

let registration: TfjsRegistration | undefined;
/** A registration of the built package (dist/), for threads. */
let built: { unregister(): void } | undefined;

async function register(options?: RegisterTfjsKernelsOptions): Promise<TfjsRegistration> {
  registration = await registerTfjsKernels(ns, options);
  return registration;
}

async function use(backend: "wasm" | "cpu"): Promise<void> {
  expect(await tf.setBackend(backend)).toBe(true);
  await tf.ready();
  expect(tf.getBackend()).toBe(backend);
}

afterEach(() => {
  registration?.unregister();
  registration = undefined;
  built?.unregister();
  built = undefined;
});

/**
 * A 4×16×16×3 batch with 5 classes: a little of every conv layer tf.layers has. tf.layers runs each
 * conv2d layer through tfjs's fused conv2d op. With a linear activation (the strided layer) that op
 * trains through its own customGrad, which calls the backprop ops directly and asserts that the
 * dilations are 1: no registered gradient the plugin could replace. With any other activation it
 * trains as conv2d → bias → activation, through conv2d's registered gradient, which the plugin
 * replaces: so the dilated layer has a relu.
 */
const N = 4, H = 16, W = 16, C = 3, CLASSES = 5;
const xs = () => tf.tensor4d(uniform(N * H * W * C, 11), [N, H, W, C]);
const ys = () => tf.oneHot(tf.tensor1d([0, 3, 1, 4], "int32"), CLASSES).toFloat();

interface Weights { shape: number[]; values: Float32Array }

/** The conv layers' weights, drawn from tfjs's seeded initialisers. */
const seeded = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }) });

/**
 * The network; `dilated` makes its one dilated layer (7×7×4 → 7×7×4, 3×3, dilation 2, same padding,
 * relu), so that the reference can build it from tfjs's own undilated ops.
 */
function network(dilated: () => tf.layers.Layer = () => tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: "same", dilationRate: 2, activation: "relu", ...seeded(3) })) {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [H, W, C], filters: 4, kernelSize: 3, padding: "same", activation: "relu", ...seeded(1) }), // 16×16×4
      tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: "valid", ...seeded(2) }), // 7×7×4
      dilated(), // 7×7×4
      tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: "same", depthwiseInitializer: tf.initializers.glorotUniform({ seed: 4 }) }), // 7×7×8
      tf.layers.separableConv2d({ filters: 6, kernelSize: 3, padding: "same",
        depthwiseInitializer: tf.initializers.glorotUniform({ seed: 5 }), pointwiseInitializer: tf.initializers.glorotUniform({ seed: 6 }) }), // 7×7×6
      tf.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: "same", activation: "relu", ...seeded(7) }), // 14×14×4
      tf.layers.maxPooling2d({ poolSize: 2 }), // 7×7×4
      tf.layers.averagePooling2d({ poolSize: 2, strides: 1 }), // 6×6×4
      tf.layers.flatten(),
      tf.layers.dense({ units: CLASSES, ...seeded(8) }),
    ],
  });
}

/**
 * The dilated layer of the reference: the same function, kernel and bias as conv2d({ filters: 4,
 * kernelSize: 3, dilationRate: 2, padding: "same", activation: "relu" }), computed with tfjs's own
 * undilated ops as TensorFlow's atrous_conv2d does: pad by the same padding (2 a side), split the
 * image into its 2×2 phases (spaceToBatchND), run an undilated valid 3×3 conv on each, interleave
 * them back (batchToSpaceND). Every op there has a tfjs gradient, so tfjs's cpu kernels train it.
 */
class AtrousConv2D extends tf.layers.Layer {
  static className = "AtrousConv2D";
  private kernel!: tf.LayerVariable;
  private bias!: tf.LayerVariable;

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const channels = (inputShape as number[])[3]!;
    this.kernel = this.addWeight("kernel", [3, 3, channels, 4], "float32", tf.initializers.zeros());
    this.bias = this.addWeight("bias", [4], "float32", tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const [n, h, w] = inputShape as number[];
    return [n!, h!, w!, 4];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      const [, h, w] = x.shape;
      const padded = tf.pad(x, [[0, 0], [2, 2], [2, 2], [0, 0]]); // "same" for an effective 5×5 kernel
      const extraH = (h + 4) % 2, extraW = (w + 4) % 2; // spaceToBatchND wants sizes divisible by the block
      const phases = tf.spaceToBatchND(padded, [2, 2], [[0, extraH], [0, extraW]]);
      const convolved = tf.conv2d(phases as tf.Tensor4D, this.kernel.read() as tf.Tensor4D, 1, "valid");
      const y = tf.batchToSpaceND(convolved, [2, 2], [[0, extraH], [0, extraW]]);
      return tf.relu(tf.add(y, this.bias.read()));
    });
  }
}
tf.serialization.registerClass(AtrousConv2D);

function snapshot(model: tf.LayersModel): Weights[] {
  return model.getWeights().map((w) => ({ shape: [...w.shape], values: w.dataSync() as Float32Array }));
}

function load(model: tf.LayersModel, weights: Weights[]): void {
  const tensors = weights.map((w) => tf.tensor(w.values, w.shape));
  model.setWeights(tensors);
  tf.dispose(tensors);
}

/** Builds the network on the current backend with the given weights and fits it for `steps` full-batch SGD steps; returns the losses and final weights. */
async function fit(initial: Weights[], steps: number, reference = false): Promise<{ losses: number[]; weights: Weights[] }> {
  const model = reference ? network(() => new AtrousConv2D({})) : network();
  load(model, initial);
  model.compile({ optimizer: tf.train.sgd(0.1), loss: (labels: tf.Tensor, logits: tf.Tensor) => tf.losses.softmaxCrossEntropy(labels, logits) });
  const [x, y] = [xs(), ys()];
  // One batch of all 4 inputs per epoch, in order (shuffle: false): SGD makes every step deterministic.
  const history = await model.fit(x, y, { epochs: steps, batchSize: N, shuffle: false, verbose: 0 });
  const weights = snapshot(model);
  tf.dispose([x, y]);
  model.dispose();
  return { losses: history.history.loss as number[], weights };
}

/** The seeded initial weights, drawn once (on cpu) and copied into every run. */
async function initialWeights(): Promise<Weights[]> {
  await use("cpu");
  const model = network();
  const weights = snapshot(model);
  model.dispose();
  return weights;
}

describe("wasm-conv2d/tfjs: training tf.layers models end to end", () => {
  it("model.fit on tfjs's wasm backend throws for want of backprop kernels without the plugin, and trains with it", async () => {
    const initial = await initialWeights();
    await use("wasm");
    expect(tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeUndefined();
    await expect(fit(initial, 2)).rejects.toThrow(/Kernel '(Conv2DBackpropFilter|DepthwiseConv2dNativeBackpropInput|DepthwiseConv2dNativeBackpropFilter)' not registered for backend 'wasm'/);
    const plugin = await register();
    expect(plugin.backends).toContain("wasm");
    expect(plugin.gradients).toEqual(["Conv2D", "DepthwiseConv2dNative"]);
    await use("wasm");
    const { losses } = await fit(initial, 5);
    expect(losses).toHaveLength(5);
    for (const loss of losses) expect(Number.isFinite(loss)).toBe(true);
    expect(losses[4]).toBeLessThan(losses[0]!);
    expect(memoryUsage(plugin.runtime).peakBytesInUse).toBeGreaterThan(0); // the plugin's kernels ran
    expect(memoryUsage(plugin.runtime).bytesInUse).toBe(0);
  });

  it("20 SGD steps give tfjs's own cpu kernels' losses within float32 rounding, on cpu and on wasm with the plugin", async () => {
    const initial = await initialWeights();
    // (a) tfjs's own kernels on cpu; its Conv2D gradient refuses dilations, so the dilated layer is the
    // same function built from undilated ops (AtrousConv2D) with the same weights.
    await use("cpu");
    const dilatedGrad = () => tf.grad((x: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, "same", "NHWC", 2).sum());
    expect(() => tf.tidy(() => dilatedGrad()(tf.ones([1, 5, 5, 1])))).toThrow(/dilation rates greater than 1/);
    const own = await fit(initial, 20, true);
    // (b) the plugin's kernels on cpu, with tf.layers' own dilated conv2d.
    const onCpu = await register({ backends: ["cpu"] });
    await use("cpu");
    const cpu = await fit(initial, 20);
    expect(memoryUsage(onCpu.runtime).peakBytesInUse).toBeGreaterThan(0);
    // (c) the plugin's backprop kernels on wasm (its forwards stay XNNPACK's: forward "auto").
    const onWasm = await register();
    await use("wasm");
    const wasm = await fit(initial, 20);
    expect(memoryUsage(onWasm.runtime).peakBytesInUse).toBeGreaterThan(0);

    // It learns: 4 inputs, 5 classes, from about ln 5 ≈ 1.61, every step lower (measured 1.62 → 1.33).
    expect(own.losses).toHaveLength(20);
    own.losses.slice(1).forEach((loss, i) => expect(loss).toBeLessThan(own.losses[i]!));
    expect(own.losses[19]).toBeLessThan(0.9 * own.losses[0]!);
    // The three differ only in how float32 sums are ordered (im2col and GEMM blocking, XNNPACK's
    // kernels, tfjs's loops, the atrous reference's phases): a few 1e-8 relative per op, so the first
    // loss agrees to ~1e-7. SGD feeds each step's rounding into the next step's weights, where the
    // fit's sensitivity can multiply it, so 1e-4 for the first 5 steps and 1e-3 after (measured: at
    // most 2e-7 relative on all 20). A wrong gradient anywhere moves step 2's loss by far more: the
    // steps themselves move it by ~1e-2 each.
    const check = (losses: number[]) => losses.forEach((loss, i) => {
      const bound = (i < 5 ? 1e-4 : 1e-3) * Math.abs(own.losses[i]!);
      expect(Math.abs(loss - own.losses[i]!), `step ${i + 1}: ${loss} vs tfjs's ${own.losses[i]}`).toBeLessThanOrEqual(bound);
    });
    check(cpu.losses);
    check(wasm.losses);
    // And all 15 weight tensors after the 20 steps (kernels and biases, |w| < 1): each moved from its
    // start (measured: by 0.027 to 0.28 at most), and moved the same in all three (measured: within
    // 6e-8), so every layer's gradient is checked, not only their sum in the loss.
    const gap = (a: Float32Array, b: Float32Array) => a.reduce((m, v, j) => Math.max(m, Math.abs(v - b[j]!)), 0);
    expect(own.weights).toHaveLength(15);
    own.weights.forEach((w, i) => {
      expect(gap(w.values, initial[i]!.values), `weight ${i} ${JSON.stringify(w.shape)} moved`).toBeGreaterThan(1e-2);
      expect(gap(cpu.weights[i]!.values, w.values), `weight ${i} ${JSON.stringify(w.shape)}, cpu`).toBeLessThan(1e-5);
      expect(gap(wasm.weights[i]!.values, w.values), `weight ${i} ${JSON.stringify(w.shape)}, wasm`).toBeLessThan(1e-5);
    });
  });

  it("1,000 training steps on wasm with the plugin: tfjs's tensors and the plugin's bytes in use are the same after step 10 and step 1,000", async () => {
    const plugin = await register();
    await use("wasm");
    // Every backprop kernel the plugin registers: conv2d's (undilated and dilated), depthwise, transposed.
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3, padding: "same", activation: "relu", ...seeded(21) }),
        tf.layers.depthwiseConv2d({ kernelSize: 3, padding: "same", activation: "relu", depthwiseInitializer: tf.initializers.glorotUniform({ seed: 22 }) }),
        tf.layers.conv2d({ filters: 2, kernelSize: 3, strides: 2, padding: "valid", activation: "relu", ...seeded(23) }),
        tf.layers.conv2d({ filters: 2, kernelSize: 3, padding: "same", dilationRate: 2, activation: "relu", ...seeded(24) }),
        tf.layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: "same", ...seeded(25) }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, ...seeded(26) }),
      ],
    });
    const optimizer = tf.train.sgd(0.05);
    const x = tf.tensor4d(uniform(2 * 8 * 8, 31), [2, 8, 8, 1]);
    const y = tf.oneHot(tf.tensor1d([2, 0], "int32"), 3).toFloat();
    const marks: Record<number, { tensors: number; bytes: number; loss: number }> = {};
    for (let step = 1; step <= 1000; step++) {
      const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, model.apply(x) as tf.Tensor), true)!;
      const value = (await loss.data())[0]!;
      loss.dispose();
      if (step === 10 || step === 1000) marks[step] = { tensors: tf.memory().numTensors, bytes: memoryUsage(plugin.runtime).bytesInUse, loss: value };
    }
    expect(marks[1000]!.tensors).toBe(marks[10]!.tensors);
    expect(marks[1000]!.bytes).toBe(marks[10]!.bytes);
    expect(memoryUsage(plugin.runtime).peakBytesInUse).toBeGreaterThan(0);
    expect(marks[1000]!.loss).toBeLessThan(marks[10]!.loss); // it trained
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  });

  it("2 threads give the same bits as 1 thread (fixed SIMD build): losses and weights after 3 steps, on cpu and wasm", async () => {
    // Every conv here is over the 2 MFLOP below which the library keeps a call on the calling thread
    // (js/conv/schedule.ts), so the workers take part: 8×24×24×8 inputs.
    const shape: [number, number, number, number] = [8, 24, 24, 8];
    const model = () => tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: shape.slice(1), filters: 16, kernelSize: 3, padding: "same", activation: "relu", ...seeded(41) }), // 10.6 MFLOP
        tf.layers.conv2d({ filters: 16, kernelSize: 3, padding: "same", dilationRate: 2, activation: "relu", ...seeded(42) }), // 21 MFLOP
        tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: "same", depthwiseInitializer: tf.initializers.glorotUniform({ seed: 43 }) }), // 2.7 MFLOP
        tf.layers.conv2dTranspose({ filters: 8, kernelSize: 3, strides: 2, padding: "same", activation: "relu", ...seeded(44) }), // 10.6 MFLOP, 48×48×8
        tf.layers.averagePooling2d({ poolSize: 4 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: CLASSES, ...seeded(45) }),
      ],
    });
    await use("cpu");
    const first = model();
    const initial = snapshot(first);
    first.dispose();
    const run = async (threads: number, backend: "cpu" | "wasm") => {
      // The pool's workers load dist/threads/worker.js: the built package (js/'s sources have no .js worker).
      // forward "replace": every conv of a step, forward and backward, is the plugin's.
      const plugin = await registerBuilt(ns, { threads, simd: "fixed", forward: "replace" });
      built = plugin;
      expect(plugin.runtime.threads).toBe(threads);
      expect(plugin.runtime.simd).toBe("fixed");
      await use(backend);
      // How many conv phases the workers shared: none on 1 thread, many on 2.
      let shared = 0;
      const pool = (plugin.runtime as unknown as { pool?: { runHere(...args: unknown[]): void } }).pool; // internal: not in the .d.ts
      if (pool) {
        const runHere = pool.runHere.bind(pool);
        pool.runHere = (...args: unknown[]) => { shared++; runHere(...args); };
      }
      const m = model();
      load(m, initial);
      const optimizer = tf.train.sgd(0.05);
      const [x, y] = [tf.tensor4d(uniform(shape.reduce((a, b) => a * b), 51), shape), tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 0, 1, 2], "int32"), CLASSES).toFloat()];
      const losses: number[] = [];
      for (let step = 0; step < 3; step++) {
        const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, m.apply(x) as tf.Tensor), true)!;
        losses.push((await loss.data())[0]!);
        loss.dispose();
      }
      const weights = snapshot(m);
      tf.dispose([x, y]);
      optimizer.dispose();
      m.dispose();
      plugin.unregister();
      built = undefined;
      return { losses, weights, shared };
    };
    for (const backend of ["cpu", "wasm"] as const) {
      const one = await run(1, backend);
      const two = await run(2, backend);
      expect(one.shared).toBe(0);
      expect(two.shared).toBeGreaterThan(10);
      expect(two.losses).toEqual(one.losses);
      expect(one.weights).toHaveLength(10);
      two.weights.forEach((w, i) => expect(new Uint32Array(w.values.buffer), `weight ${i} on ${backend}`).toEqual(new Uint32Array(one.weights[i]!.values.buffer)));
      // It trained (so the steps' gradients are in the weights compared).
      expect(one.weights.some((w, i) => w.values.some((v, j) => v !== initial[i]!.values[j]))).toBe(true);
    }
  });
});
