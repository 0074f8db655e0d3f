// The interface every benchmarked implementation (ours and the peers) provides, and the shared layer data.

import type { BenchLayer } from "../lib/layers.js";

export const DIRECTIONS = ["forward", "dx", "dw", "db", "step"] as const;
export type Direction = (typeof DIRECTIONS)[number];

/** One layer's inputs, NCHW float32 from a seeded generator; peers transpose outside the timed region. */
export interface LayerData {
  x: Float32Array;
  w: Float32Array;
  b: Float32Array;
  dy: Float32Array;
  outHeight: number;
  outWidth: number;
}

/** A layer set up in one implementation: what it can run, what it cannot (and why), and its results in NCHW. */
export interface PreparedLayer {
  run: Partial<Record<Direction, () => unknown>>;
  /** Directions the implementation timed itself, with the bench's rule (a child process: PyTorch). */
  measured?: Partial<Record<Direction, { medianMs: number; samples: number }>>;
  unsupported: Partial<Record<Direction, string>>;
  /** The forward output (and dx, dw where run) in NCHW / FCHW, to check the peers agree with us. */
  results(): Promise<Partial<Record<"forward" | "dx" | "dw", Float32Array>>>;
  /** Bytes of wasm memory the implementation holds for this layer, where it can tell. */
  memory?(): { wasmMemoryBytes: number; scratchBytes: number };
  dispose(): void | Promise<void>;
}

export interface Peer {
  name: string;
  version: string;
  /** A line for the table's legend: what is timed and what is not. */
  note: string;
  setup(layer: BenchLayer, data: LayerData): Promise<PreparedLayer>;
  close?(): Promise<void>;
}
