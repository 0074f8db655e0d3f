// Times the quick layers in whatever runtime runs it (performance.now, warm-up, median of samples): forward, dx, dw, db and a full step, beside that runtime's own SIMD ceiling.

import type * as Api from "../../dist/index.js";
import { measureCeiling, type Ceiling, type CeilingModules } from "./ceiling.ts";
import { LAYERS, inputShape, weightShape, layerOptions, layerFlops, outputSize, type BenchLayer } from "./layers.ts";
import { runtimeName } from "./runtime-name.ts";

export const DIRECTIONS = ["forward", "dx", "dw", "db", "step"] as const;
export type Direction = (typeof DIRECTIONS)[number];

export interface TimingRow {
  layer: string;
  direction: Direction;
  /** Median milliseconds per call over the samples. */
  ms: number;
  gflops: number;
  /** Calls per sample (enough for the sample to last minSampleMs). */
  reps: number;
}

export interface TimingReport {
  runtime: string;
  simd: string;
  /** The micro-kernel's broadcast form the layers ran on ("load" or "shuffle"). */
  broadcast: string;
  samples: number;
  rows: TimingRow[];
  /** This runtime's own ceiling (bench/lib/ceiling.ts), where the caller handed over its modules. */
  ceiling?: Ceiling;
}

export interface TimingOptions {
  /** Layers to time (default: the quick subset of bench/layers.ts). */
  layers?: readonly BenchLayer[];
  /** Samples per measurement; the median is reported (default 7). */
  samples?: number;
  /** Each sample repeats the call until it lasts about this long, above timer resolution (default 25 ms). */
  minSampleMs?: number;
  /** Passed to init(): workerd hands over its imported WebAssembly.Module. */
  wasm?: Api.WasmSource;
  /** "fixed" (default) or "auto". */
  simd?: "fixed" | "auto";
  /**
   * The micro-kernel's broadcast form: "engine" (default), the one init() picks for this engine
   * (js/core/features.ts), or "load" or "shuffle" forced (an internal switch), to time the other.
   */
  broadcast?: "engine" | "load" | "shuffle";
  /** The ceiling probes' modules (build/ceiling-*.wasm): read, fetched or imported by whoever runs this. */
  ceiling?: CeilingModules;
  /** Called after each measurement (a page shows progress). */
  onRow?: (row: TimingRow) => void;
}

/**
 * FLOPs of one call. forward, dx and dw each do 2·N·F·Ho·Wo·(C/groups)·KH·KW (bench/layers.ts;
 * the bias add is not counted); db does N·F·Ho·Wo additions; a step is forward + dx + dw + db.
 */
export function directionFlops(layer: BenchLayer, direction: Direction): number {
  const biasAdds = layer.N * layer.F * outputSize(layer) ** 2;
  switch (direction) {
    case "db": return biasAdds;
    case "step": return 3 * layerFlops(layer) + biasAdds;
    default: return layerFlops(layer);
  }
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Median ms per call of fn: two warm-up calls (tier-up, scratch growth), then the batch size doubles
 * until a batch lasts minSampleMs (workerd's clock ticks in whole milliseconds, so a single call can
 * read as 0), then `samples` batches of that size.
 */
export function measure(fn: () => void, samples: number, minSampleMs: number): { ms: number; reps: number } {
  const batch = (reps: number): number => {
    const t = performance.now();
    for (let r = 0; r < reps; r++) fn();
    return performance.now() - t;
  };
  fn();
  fn();
  let reps = 1;
  for (let elapsed = batch(reps); elapsed < minSampleMs; elapsed = batch(reps)) {
    reps = elapsed > minSampleMs / 8 ? Math.ceil((reps * minSampleMs) / elapsed) : reps * 2;
  }
  const times: number[] = [];
  for (let s = 0; s < samples; s++) times.push(batch(reps) / reps);
  return { ms: median(times), reps };
}

/**
 * Times every direction of every layer. The timed region is the API call (and disposing its outputs);
 * making the input tensors is outside it. Data is seeded uniform [-1, 1).
 */
export async function timeLayers(api: typeof Api, options: TimingOptions = {}): Promise<TimingReport> {
  const { layers = LAYERS.filter((l) => l.quick), samples = 7, minSampleMs = 25, wasm, simd = "fixed", broadcast = "engine", onRow } = options;
  // First, before the layers' memory exists: the same timing rule as the layers' (median of samples).
  const ceiling = options.ceiling ? await measureCeiling(options.ceiling, (_name, fn) => measure(fn, samples, minSampleMs).ms) : undefined;
  const runtime = await api.init(wasm === undefined ? { simd } : { simd, wasm });
  const internal = runtime as unknown as { broadcast: string; useBroadcast(form: string): void };
  if (broadcast !== "engine") internal.useBroadcast(broadcast);
  const rows: TimingRow[] = [];
  for (const layer of layers) {
    const opts = layerOptions(layer);
    const fill = (shape: number[], seed: number) => {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      let s = seed;
      for (let i = 0; i < n; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        data[i] = s / 2147483648 - 1;
      }
      return api.tensor(data, shape, runtime);
    };
    const x = fill(inputShape(layer), 1);
    const w = fill(weightShape(layer), 2);
    const b = fill([layer.F], 3);
    const o = outputSize(layer);
    const dy = fill([layer.N, layer.F, o, o], 4);
    const calls: Record<Direction, () => void> = {
      forward: () => api.scope(() => { api.conv2d(x, w, b, opts); }),
      dx: () => api.scope(() => { api.conv2dBackward(dy, x, w, opts, { dw: false, db: false }); }),
      dw: () => api.scope(() => { api.conv2dBackward(dy, x, w, opts, { dx: false, db: false }); }),
      db: () => api.scope(() => { api.conv2dBackward(dy, x, w, opts, { dx: false, dw: false }); }),
      step: () => api.scope(() => { api.conv2d(x, w, b, opts); api.conv2dBackward(dy, x, w, opts); }),
    };
    for (const direction of DIRECTIONS) {
      const { ms, reps } = measure(calls[direction], samples, minSampleMs);
      const row = { layer: layer.name, direction, ms, gflops: directionFlops(layer, direction) / (ms * 1e6), reps };
      rows.push(row);
      onRow?.(row);
      // Let a page repaint and a worker's event loop breathe between measurements.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    for (const t of [x, w, b, dy]) t.dispose();
  }
  return { runtime: runtimeName(), simd: runtime.simd, broadcast: internal.broadcast, samples, rows, ...(ceiling ? { ceiling } : {}) };
}
