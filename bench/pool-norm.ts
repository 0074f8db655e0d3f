// npm run bench:pool-norm: the pooling and batch-norm kernels (forward and backward) on ResNet-sized tensors, against tfjs-wasm's, tfjs-cpu's and ONNX Runtime Web's.

import v8 from "node:v8";
import os from "node:os";
import { mkdir, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";
import * as ort from "onnxruntime-web";
import onnxProto from "onnx-proto";
import { Random } from "../js/core/random.ts";
import { measure, type TimingOptions } from "./lib/timing.ts";
import "./peers/tfjs.ts"; // sets tfjs-wasm's wasm paths

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
v8.setFlagsFromString("--no-liftoff");
ort.env.wasm.numThreads = 1;
const { onnx } = onnxProto;

const { values: args } = parseArgs({ options: { quick: { type: "boolean", default: false } } });
const timing: TimingOptions = args.quick
  ? { maxTime: 0.1, minSamples: 5, minTime: 0.02, slowMs: 100, slowSamples: 3, onceMs: 2000 }
  : { maxTime: 0.5, minSamples: 10, slowMs: 300, slowSamples: 3, onceMs: 5000 };

type Api = typeof import("../dist/index.js");
const api = (await import("../dist/index.js")) as Api;

/** An op on x [N, C, H, W]: ours (forward, backward), tfjs's (NHWC) and ONNX's node, if they have one. */
interface Case {
  name: string; shape: [number, number, number, number];
  ours: (x: import("../dist/index.js").Tensor) => { forward: () => unknown; backward?: () => unknown };
  tfjs?: (x: tf.Tensor4D) => tf.Tensor;
  onnx?: { op: string; attributes: { name: string; ints?: number[]; i?: number; f?: number }[]; extra?: (C: number) => { name: string; data: Float32Array }[] };
}

const ints = (name: string, v: number[]) => ({ name, ints: v });
const CASES: Case[] = [
  { name: "maxPool2d 3×3/2 pad 1 (ResNet stem)", shape: [8, 64, 56, 56],
    ours: (x) => { const o = { kernelSize: 3, stride: 2, pad: 1 }; const y = api.maxPool2d(x, o); const dy = api.zeros(y.shape); return { forward: () => api.maxPool2d(x, o).dispose(), backward: () => api.maxPool2dBackward(dy, x, o).dispose() }; },
    tfjs: (x) => tf.maxPool(x, 3, 2, [[0, 0], [1, 1], [1, 1], [0, 0]] as never),
    onnx: { op: "MaxPool", attributes: [ints("kernel_shape", [3, 3]), ints("strides", [2, 2]), ints("pads", [1, 1, 1, 1])] } },
  { name: "maxPool2d 2×2/2 (LeNet)", shape: [32, 16, 28, 28],
    ours: (x) => { const o = { kernelSize: 2 }; const y = api.maxPool2d(x, o); const dy = api.zeros(y.shape); return { forward: () => api.maxPool2d(x, o).dispose(), backward: () => api.maxPool2dBackward(dy, x, o).dispose() }; },
    tfjs: (x) => tf.maxPool(x, 2, 2, "valid"),
    onnx: { op: "MaxPool", attributes: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])] } },
  { name: "avgPool2d 3×3/1 pad 1", shape: [8, 64, 28, 28],
    ours: (x) => { const o = { kernelSize: 3, stride: 1, pad: 1 }; const dy = api.zeros(x.shape); return { forward: () => api.avgPool2d(x, o).dispose(), backward: () => api.avgPool2dBackward(dy, x, o).dispose() }; },
    // tfjs's avgPool divides by the values inside (countIncludePad false): same work.
    tfjs: (x) => tf.avgPool(x, 3, 1, "same"),
    onnx: { op: "AveragePool", attributes: [ints("kernel_shape", [3, 3]), ints("strides", [1, 1]), ints("pads", [1, 1, 1, 1]), { name: "count_include_pad", i: 1 }] } },
  { name: "adaptiveAvgPool2d 1 (global)", shape: [32, 512, 7, 7],
    ours: (x) => { const dy = api.zeros([32, 512, 1, 1]); return { forward: () => api.adaptiveAvgPool2d(x, 1).dispose(), backward: () => api.adaptiveAvgPool2dBackward(dy, x, 1).dispose() }; },
    tfjs: (x) => tf.mean(x, [1, 2], true),
    onnx: { op: "GlobalAveragePool", attributes: [] } },
  { name: "BatchNorm2d training (batch statistics)", shape: [32, 64, 28, 28],
    ours: (x) => { const bn = new api.BatchNorm2d({ numFeatures: 64 }); bn.forward(x).dispose(); const dy = api.zeros(x.shape); return { forward: () => bn.forward(x).dispose(), backward: () => bn.backward(dy).dispose() }; },
    // tfjs has no fused training batch norm: moments, then batchNorm with them (what tf.layers does).
    tfjs: (x) => { const { mean, variance } = tf.moments(x, [0, 1, 2]); return tf.batchNorm(x, mean, variance, undefined, undefined, 1e-5); } },
  { name: "BatchNorm2d eval (running statistics)", shape: [32, 64, 28, 28],
    ours: (x) => { const bn = new api.BatchNorm2d({ numFeatures: 64 }); bn.eval(); return { forward: () => bn.forward(x).dispose() }; },
    tfjs: (x) => tf.batchNorm(x, tf.zeros([64]), tf.ones([64]), tf.zeros([64]), tf.ones([64]), 1e-5),
    onnx: { op: "BatchNormalization", attributes: [{ name: "epsilon", f: 1e-5 }],
      extra: (C) => [{ name: "scale", data: new Float32Array(C).fill(1) }, { name: "B", data: new Float32Array(C) }, { name: "mean", data: new Float32Array(C) }, { name: "var", data: new Float32Array(C).fill(1) }] } },
];

const rows: { name: string; shape: number[]; cells: Record<string, number | string> }[] = [];
await api.init({ simd: "relaxed" });
for (const c of CASES) {
  const [N, C, H, W] = c.shape;
  const data = new Random(N * C + H).uniformArray(N * C * H * W, -1, 1);
  const cells: Record<string, number | string> = {};
  const time = async (label: string, fn: () => unknown) => {
    const t = await measure(`${c.name} ${label}`, fn, timing);
    cells[label] = t.medianMs;
    process.stderr.write(`${c.name} ${label}: ${t.medianMs.toFixed(3)} ms\n`);
  };
  for (const simd of ["relaxed", "fixed"] as const) {
    const runtime = await api.init({ simd });
    const x = api.tensor(data, c.shape, runtime);
    const run = c.ours(x);
    await time(`forward (${simd})`, run.forward);
    if (run.backward) await time(`backward (${simd})`, run.backward);
    x.dispose();
  }
  if (c.tfjs) {
    for (const backend of ["wasm", "cpu"] as const) {
      await tf.setBackend(backend);
      await tf.ready();
      const x = tf.tidy(() => tf.transpose(tf.tensor4d(data, c.shape), [0, 2, 3, 1])) as tf.Tensor4D;
      try {
        await time(`tfjs-${backend} forward`, () => tf.tidy(() => c.tfjs!(x)).dataSync());
      } catch (error) {
        cells[`tfjs-${backend} forward`] = String((error as Error).message).split("\n")[0]!.slice(0, 100);
      }
      x.dispose();
    }
  }
  if (c.onnx) {
    const float = onnx.TensorProto.DataType.FLOAT;
    const info = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: float, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
    const extra = c.onnx.extra?.(C) ?? [];
    const attribute = c.onnx.attributes.map((a) => a.ints ? { name: a.name, type: onnx.AttributeProto.AttributeType.INTS, ints: a.ints }
      : a.f !== undefined ? { name: a.name, type: onnx.AttributeProto.AttributeType.FLOAT, f: a.f } : { name: a.name, type: onnx.AttributeProto.AttributeType.INT, i: a.i });
    const model = onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 7, opsetImport: [{ domain: "", version: 13 }],
      graph: {
        name: c.onnx.op, node: [{ opType: c.onnx.op, input: ["X", ...extra.map((e) => e.name)], output: ["Y"], attribute }],
        initializer: extra.map((e) => ({ name: e.name, dataType: float, dims: [C], rawData: new Uint8Array(e.data.buffer) })),
        input: [info("X", c.shape)], output: [{ name: "Y", type: { tensorType: { elemType: float } } }],
      },
    })).finish();
    const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    const xo = new ort.Tensor("float32", data, c.shape);
    await time("onnxruntime-web forward", async () => (await session.run({ X: xo })).Y!.dispose());
    await session.release();
  }
  rows.push({ name: c.name, shape: c.shape, cells });
}

const columns = [...new Set(rows.flatMap((r) => Object.keys(r.cells)))];
console.log("\nPooling and batch norm, median ms, one thread; in brackets that column's time ÷ our relaxed forward's (backward: ÷ our relaxed backward's)");
console.log(["op", "x", ...columns].join(" | "));
for (const r of rows) {
  const forward = r.cells["forward (relaxed)"] as number;
  console.log([r.name, r.shape.join("×"), ...columns.map((col) => {
    const v = r.cells[col];
    if (v === undefined) return "–";
    if (typeof v === "string") return "n/a";
    const base = col.startsWith("backward") ? (r.cells["backward (relaxed)"] as number) : forward;
    return col === "forward (relaxed)" || col === "backward (relaxed)" ? v.toFixed(3) : `${v.toFixed(3)} (${(v / base).toFixed(2)}×)`;
  })].join(" | "));
}
for (const r of rows) for (const [col, v] of Object.entries(r.cells)) if (typeof v === "string") console.log(`${r.name} ${col}: ${v}`);
const stamp = new Date().toISOString().slice(0, 16).replace(":", "-");
await mkdir(new URL("./results/", import.meta.url), { recursive: true });
const file = `bench/results/pool-norm-${stamp}${args.quick ? "-quick" : ""}.json`;
await writeFile(new URL(`../${file}`, import.meta.url), JSON.stringify({
  date: new Date().toISOString(), command: `npm run bench:pool-norm${args.quick ? " -- --quick" : ""}`,
  machine: `${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, Node ${process.versions.node}`,
  versions: { tfjs: tf.version.tfjs, onnxruntime: ort.env.versions.web }, rows,
}, null, 1));
console.log(`\nwrote ${file}`);
