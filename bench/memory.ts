// npm run bench:memory: each direction's kernel scratch (prepared block + work blocks) against its largest operand, and peak wasm memory per direction and training step.

// Memory is not noisy: the plan's bytes depend on the geometry alone, and a fresh runtime per
// measurement makes its wasm memory that call's own (the memory never shrinks, so "after" is the
// peak). Scratch is the reusable block the synchronous API grows to prepared + work × blocks, where
// blocks is 1 on one thread and the pool's workers plus the calling thread on more (schedule.ts).
// --check exits 1 when a direction's scratch exceeds BOUND × its largest operand + SLACK_BYTES.

import { mkdir, writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import os from "node:os";
import { createRuntime, tensor, conv2d, conv2dBackward, type Runtime, type Tensor } from "../dist/index.js";
import { planBytes, type DirectionCall } from "../dist/conv/schedule.js";
import { convGeometry, type ConvGeometry } from "../dist/conv/geometry.js";
import { LAYERS, inputShape, layerOptions, weightShape, type BenchLayer } from "./lib/layers.ts";
import { Random } from "../js/core/random.ts";
import { MEMORY_LAYERS, SCRATCH_BOUND, SCRATCH_SLACK_BYTES, WEIGHT_BOUND_LAYERS, largestOperandBytes, type ScratchDirection } from "./lib/memory-layers.ts";

const { values: args } = parseArgs({
  options: {
    layers: { type: "string" }, threads: { type: "string", default: "1,2" }, check: { type: "boolean" }, json: { type: "boolean" },
    help: { type: "boolean" },
  },
});
if (args.help) {
  console.log(`npm run bench:memory [-- --layers L2,M1] [--threads 1,2] [--check] [--json]
  Per layer, direction and thread count: prepared bytes, work bytes × blocks, the largest operand,
  scratch ÷ largest, and the wasm memory after the call on a fresh runtime; then a training step.`);
  process.exit(0);
}
const wanted = args.layers?.split(",");
const layers = [...LAYERS, ...MEMORY_LAYERS].filter((l) => !wanted || wanted.includes(l.name));
const threadCounts = args.threads.split(",").map(Number);
const DIRECTIONS: ScratchDirection[] = ["forward", "dx", "dw", "db"];
const DIRECTION_CODE = { forward: 0, dx: 1, dw: 2, db: 3 } as const;
const MiB = (n: number) => (n / 2 ** 20).toFixed(2);

interface Row {
  layer: string;
  threads: number;
  direction: ScratchDirection | "step";
  preparedBytes: number;
  workBytes: number;
  workBlocks: number;
  scratchBytes: number;
  largestOperandBytes: number;
  ratio: number;
  wasmMemoryBytes: number;
  tensorBytes: number;
}

const data = (n: number, seed: number) => new Random(seed).uniformArray(n, -1, 1);
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

async function measure(layer: BenchLayer, threads: number, direction: ScratchDirection | "step"): Promise<Row> {
  const runtime: Runtime = await createRuntime({ simd: "fixed", threads });
  try {
    const options = layerOptions(layer);
    const g: ConvGeometry = convGeometry(inputShape(layer), weightShape(layer), options, "bench:memory");
    const x = tensor(data(size(inputShape(layer)), 1), inputShape(layer), runtime);
    const w = tensor(data(size(weightShape(layer)), 2), weightShape(layer), runtime);
    const b = tensor(data(layer.F, 3), [layer.F], runtime);
    const dyShape = [g.batch, g.outChannels, g.outHeight, g.outWidth];
    const dy = tensor(data(size(dyShape), 4), dyShape, runtime);
    const outputs: (Tensor | null)[] = [];
    if (direction === "forward" || direction === "step") outputs.push(conv2d(x, w, b, options));
    if (direction === "step") {
      const grads = conv2dBackward(dy, x, w, options);
      outputs.push(grads.dx, grads.dw, grads.db);
    } else if (direction !== "forward") {
      const grads = conv2dBackward(dy, x, w, options, { dx: direction === "dx", dw: direction === "dw", db: direction === "db" });
      outputs.push(grads.dx, grads.dw, grads.db);
    }
    const usage = runtime.memoryUsage();
    const directions = direction === "step" ? DIRECTIONS : [direction];
    let prepared = NaN, work = NaN, blocks = NaN, largest = 0;
    for (const d of directions) largest = Math.max(largest, largestOperandBytes(g, d));
    if (direction !== "step") {
      const call: DirectionCall = { direction: DIRECTION_CODE[direction], geometry: g, w: 0, bias: 0, a: 0, b: 0, out: 0, accumulate: false };
      ({ prepared, work } = planBytes(runtime, call));
      blocks = work > 0 ? Math.round((usage.scratchBytes - prepared) / work) : 0;
    }
    for (const t of [x, w, b, dy, ...outputs]) t?.dispose();
    return {
      layer: layer.name, threads, direction, preparedBytes: prepared, workBytes: work, workBlocks: blocks,
      scratchBytes: usage.scratchBytes, largestOperandBytes: largest, ratio: usage.scratchBytes / largest,
      wasmMemoryBytes: usage.wasmMemoryBytes, tensorBytes: usage.peakBytesInUse,
    };
  } finally {
    runtime.terminate();
  }
}

const rows: Row[] = [];
for (const layer of layers) {
  for (const threads of threadCounts) {
    for (const direction of [...DIRECTIONS, "step" as const]) rows.push(await measure(layer, threads, direction));
  }
}

const header = ["layer", "threads", "direction", "prepared MiB", "work MiB × blocks", "scratch MiB", "largest operand MiB", "scratch ÷ largest", "tensors MiB", "wasm memory MiB"];
const table = rows.map((r) => [
  r.layer, String(r.threads), r.direction, r.direction === "step" ? "–" : MiB(r.preparedBytes),
  r.direction === "step" ? "– (the largest direction's)" : `${MiB(r.workBytes)} × ${r.workBlocks}`, MiB(r.scratchBytes),
  MiB(r.largestOperandBytes), r.ratio.toFixed(2), MiB(r.tensorBytes), MiB(r.wasmMemoryBytes),
]);
if (args.json) {
  console.log(JSON.stringify(rows, null, 1));
} else {
  console.log(`| ${header.join(" | ")} |\n| ${header.map((_, i) => (i < 3 ? "---" : "---:")).join(" | ")} |`);
  for (const r of table) console.log(`| ${r.join(" | ")} |`);
}
const over = rows.filter((r) => r.direction !== "step" && r.scratchBytes > SCRATCH_BOUND * r.largestOperandBytes + SCRATCH_SLACK_BYTES);
const known = (r: Row) => r.direction !== "step" && (WEIGHT_BOUND_LAYERS[r.layer]?.includes(r.direction) ?? false);
console.log(`\nscratch over ${SCRATCH_BOUND} × the largest operand + ${SCRATCH_SLACK_BYTES / 1024} KiB: ${over.length === 0 ? "none"
  : over.map((r) => `${r.layer} ${r.direction} (${r.threads} threads: ${r.ratio.toFixed(2)}×${known(r) ? ", packed weights + kept copy" : ""})`).join(", ")}`);

const dir = new URL("./results/", import.meta.url);
await mkdir(dir, { recursive: true });
const stamp = new Date().toISOString().slice(0, 16).replace(":", "-");
const machine = { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.versions.node };
await writeFile(new URL(`memory-${stamp}.json`, dir), JSON.stringify({ date: new Date().toISOString(), machine, rows }, null, 1));
if (args.check && over.some((r) => !known(r))) process.exit(1);
