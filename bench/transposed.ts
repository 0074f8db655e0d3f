// npm run bench:transposed: convTranspose2d forward, dx, dw and db on decoder layers, against conv2d's dx on the same geometry and the peers' transposed convolutions.

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

const { values: args } = parseArgs({ options: { quick: { type: "boolean", default: false }, layers: { type: "string" } } });

/** Decoder layers: x [N, Cin, H, H] → y [N, Cout, Ho, Ho]. */
interface Layer { name: string; N: number; Cin: number; H: number; Cout: number; K: number; stride: number; pad: number; outputPadding: number }
const LAYERS: Layer[] = [
  { name: "T1", N: 1, Cin: 64, H: 28, Cout: 32, K: 3, stride: 2, pad: 1, outputPadding: 1 }, // 28² → 56²
  { name: "T2", N: 1, Cin: 128, H: 14, Cout: 64, K: 4, stride: 2, pad: 1, outputPadding: 0 }, // 14² → 28²
  { name: "T3", N: 32, Cin: 16, H: 7, Cout: 8, K: 3, stride: 2, pad: 1, outputPadding: 1 }, // an MNIST autoencoder's 7² → 14²
  { name: "T4", N: 1, Cin: 64, H: 28, Cout: 64, K: 3, stride: 1, pad: 1, outputPadding: 0 }, // stride 1
].filter((l) => !args.layers || args.layers.split(",").includes(l.name));

const outSize = (l: Layer) => (l.H - 1) * l.stride - 2 * l.pad + (l.K - 1) + l.outputPadding + 1;
/** Every input element meets every tap of its C_out filters: the FLOPs of forward (and of dx and dw). */
const flops = (l: Layer) => 2 * l.N * l.Cin * l.H * l.H * l.Cout * l.K * l.K;
const timing: TimingOptions = args.quick
  ? { maxTime: 0.1, minSamples: 5, minTime: 0.02, slowMs: 100, slowSamples: 3, onceMs: 2000 }
  : { maxTime: 0.6, minSamples: 10, slowMs: 300, slowSamples: 3, onceMs: 5000 };

type Api = typeof import("../dist/index.js");
const api = (await import("../dist/index.js")) as Api;

interface Cell { ms: number; gflops: number }
const rows: { layer: Layer; cells: Record<string, Cell | string> }[] = [];

for (const l of LAYERS) {
  const Ho = outSize(l);
  const random = new Random(l.N * 1000 + l.Cin);
  const data = {
    x: random.uniformArray(l.N * l.Cin * l.H * l.H, -1, 1), w: random.uniformArray(l.Cin * l.Cout * l.K * l.K, -1, 1),
    b: random.uniformArray(l.Cout, -1, 1), dy: random.uniformArray(l.N * l.Cout * Ho * Ho, -1, 1),
  };
  const options = { stride: l.stride, pad: l.pad, outputPadding: l.outputPadding };
  const cells: Record<string, Cell | string> = {};
  const time = async (label: string, fn: () => unknown) => {
    const t = await measure(`${l.name} ${label}`, fn, timing);
    cells[label] = { ms: t.medianMs, gflops: flops(l) / t.medianMs / 1e6 };
    process.stderr.write(`${l.name} ${label}: ${t.medianMs.toFixed(3)} ms\n`);
  };
  let ours: Float32Array | undefined;
  for (const simd of ["relaxed", "fixed"] as const) {
    const runtime = await api.createRuntime({ simd });
    const x = api.tensor(data.x, [l.N, l.Cin, l.H, l.H], runtime), w = api.tensor(data.w, [l.Cin, l.Cout, l.K, l.K], runtime);
    const b = api.tensor(data.b, [l.Cout], runtime), dy = api.tensor(data.dy, [l.N, l.Cout, Ho, Ho], runtime);
    const y = api.convTranspose2d(x, w, b, options);
    ours ??= y.toFloat32Array();
    y.dispose();
    await time(`forward (${simd})`, () => api.convTranspose2d(x, w, b, options).dispose());
    await time(`dx (${simd})`, () => api.convTranspose2dBackward(dy, x, w, options, { dw: false, db: false }).dx.dispose());
    await time(`dw (${simd})`, () => api.convTranspose2dBackward(dy, x, w, options, { dx: false, db: false }).dw.dispose());
    // The same FLOPs through conv2d's dx: the convolution whose input has y's shape and whose output has x's.
    const convX = api.zeros([l.N, l.Cout, Ho, Ho], runtime);
    await time(`conv2d dx, same geometry (${simd})`, () => api.conv2dBackward(x, convX, w, { stride: l.stride, pad: l.pad }, { dw: false, db: false }).dx.dispose());
    for (const t of [x, w, b, dy, convX]) t.dispose();
  }
  // tfjs: NHWC, filter [KH, KW, Cout, Cin] for conv2dTranspose; explicit pads make the same output (outputShape says how big).
  for (const backend of ["wasm", "cpu"] as const) {
    await tf.setBackend(backend);
    await tf.ready();
    const x = tf.tidy(() => tf.transpose(tf.tensor4d(data.x, [l.N, l.Cin, l.H, l.H]), [0, 2, 3, 1])) as tf.Tensor4D;
    const w = tf.tidy(() => tf.transpose(tf.tensor4d(data.w, [l.Cin, l.Cout, l.K, l.K]), [2, 3, 1, 0])) as tf.Tensor4D;
    const b = tf.tensor1d(data.b);
    const pads = [[0, 0], [l.pad, l.pad], [l.pad, l.pad], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
    const run = () => tf.tidy(() => tf.add(tf.conv2dTranspose(x, w, [l.N, Ho, Ho, l.Cout], l.stride, pads as never), b));
    try {
      const got = tf.tidy(() => tf.transpose(run(), [0, 3, 1, 2])).dataSync() as Float32Array;
      const worst = got.reduce((m, v, i) => Math.max(m, Math.abs(v - ours![i]!)), 0);
      if (!(worst < 1e-3)) throw new Error(`disagrees with ours by ${worst}`);
      if (backend === "cpu" && flops(l) > 50e6 && args.quick) cells[`tfjs-${backend}`] = "left out of --quick (over 50 MFLOP)";
      else await time(`tfjs-${backend}`, () => run().dispose());
    } catch (error) {
      cells[`tfjs-${backend}`] = String((error as Error).message).split("\n")[0]!.slice(0, 100);
    }
    tf.dispose([x, w, b]);
  }
  // ONNX Runtime Web: a one-node ConvTranspose model.
  const float = onnx.TensorProto.DataType.FLOAT, ints = onnx.AttributeProto.AttributeType.INTS;
  const bytes = (a: Float32Array) => new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength));
  const info = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: float, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const model = onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 7, opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "convTranspose",
      node: [{ opType: "ConvTranspose", input: ["X", "W", "B"], output: ["Y"], attribute: [
        { name: "kernel_shape", type: ints, ints: [l.K, l.K] }, { name: "strides", type: ints, ints: [l.stride, l.stride] },
        { name: "pads", type: ints, ints: [l.pad, l.pad, l.pad, l.pad] }, { name: "output_padding", type: ints, ints: [l.outputPadding, l.outputPadding] },
      ] }],
      initializer: [{ name: "W", dataType: float, dims: [l.Cin, l.Cout, l.K, l.K], rawData: bytes(data.w) }, { name: "B", dataType: float, dims: [l.Cout], rawData: bytes(data.b) }],
      input: [info("X", [l.N, l.Cin, l.H, l.H])], output: [info("Y", [l.N, l.Cout, Ho, Ho])],
    },
  })).finish();
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const xo = new ort.Tensor("float32", data.x, [l.N, l.Cin, l.H, l.H]);
  const first = (await session.run({ X: xo })).Y!;
  const worst = (first.data as Float32Array).reduce((m, v, i) => Math.max(m, Math.abs(v - ours![i]!)), 0);
  if (worst < 1e-3) await time("onnxruntime-web", async () => (await session.run({ X: xo })).Y!.dispose());
  else cells["onnxruntime-web"] = `disagrees with ours by ${worst}`;
  await session.release();
  rows.push({ layer: l, cells });
}

// One table: GFLOP/s, and how our relaxed forward compares.
const columns = [...new Set(rows.flatMap((r) => Object.keys(r.cells)))];
const show = (c: Cell | string | undefined) => (c === undefined ? "–" : typeof c === "string" ? "n/a" : c.gflops.toFixed(1));
console.log(`\nconvTranspose2d, GFLOP/s (2·N·C_in·H·W·C_out·K² per direction), one thread; in brackets our relaxed forward ÷ that column's time`);
console.log(["layer", ...columns].join(" | "));
for (const { layer, cells } of rows) {
  const oursMs = (cells["forward (relaxed)"] as Cell).ms;
  console.log([layer.name, ...columns.map((c) => {
    const cell = cells[c];
    return typeof cell === "object" && !c.startsWith("forward (relaxed)") ? `${show(cell)} (${(cell.ms / oursMs).toFixed(2)}×)` : show(cell);
  })].join(" | "));
}
for (const { layer, cells } of rows) for (const [c, v] of Object.entries(cells)) if (typeof v === "string") console.log(`${layer.name} ${c}: ${v}`);
const stamp = new Date().toISOString().slice(0, 16).replace(":", "-");
await mkdir(new URL("./results/", import.meta.url), { recursive: true });
const file = `bench/results/transposed-${stamp}${args.quick ? "-quick" : ""}.json`;
await writeFile(new URL(`../${file}`, import.meta.url), JSON.stringify({
  date: new Date().toISOString(), command: `npm run bench:transposed${args.quick ? " -- --quick" : ""}`,
  machine: `${os.cpus()[0]?.model ?? "?"}, ${os.cpus().length} cores, Node ${process.versions.node}`,
  versions: { tfjs: tf.version.tfjs, onnxruntime: ort.env.versions.web }, rows,
}, null, 1));
console.log(`\nwrote ${file}`);
