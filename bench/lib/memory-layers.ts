// The scratch bound of the memory issue and the layers it is held on beyond the suite, shared by bench/memory.ts and its test.

import type { BenchLayer } from "./layers.ts";

/** The 224×224 stride-1 3×3 layer whose dx took 49.9 MiB of scratch for a 12.3 MiB output. */
export const MEMORY_LAYERS: readonly BenchLayer[] = [
  { name: "M1", N: 1, C: 64, size: 224, F: 64, K: 3, stride: 1, pad: 1, dilation: 1, groups: 1, quick: false },
];

/** A direction's scratch (prepared block + every work block) stays within this many times its largest operand… */
export const SCRATCH_BOUND = 1.5;
/**
 * …plus this: the fixed part of a block (a 320-byte header, tap offsets, a tile, a K × 8 panel, slack),
 * which a tiny layer's operands cannot cover.
 */
export const SCRATCH_SLACK_BYTES = 64 * 1024;

export type ScratchDirection = "forward" | "dx" | "dw" | "db";

/**
 * Where the bound is not met: layers whose weights are (about) their largest operand. A path that
 * packs the weights (the forward GEMM, both dx) holds the packing and, to keep it across calls with
 * the same weights, a copy of them to compare against: 2× the weights before any other scratch.
 * These are held to SCRATCH_BOUND × the largest operand plus both (comparing against the packing
 * itself would drop the copy; not done yet).
 */
export const WEIGHT_BOUND_LAYERS: Readonly<Record<string, readonly ScratchDirection[]>> = {
  L3: ["forward", "dx"], L5: ["forward", "dx"], X1: ["forward", "dx"],
};

/**
 * The packing's size as a multiple of the weights, where it is not 1: the layers "auto" runs through
 * Winograd F(2×2, 3×3), whose U holds 16 transformed points per 3×3 filter (16/9 of the weights).
 */
export const PACKING_FACTOR: Readonly<Record<string, number>> = { L2: 16 / 9, L3: 16 / 9, X1: 16 / 9 };

/** The allowance for the packing and its kept copy on a layer and direction (0 where the bound needs none). */
export function weightAllowanceBytes(layer: string, direction: ScratchDirection, weightBytes: number): number {
  return WEIGHT_BOUND_LAYERS[layer]?.includes(direction) ? (1 + (PACKING_FACTOR[layer] ?? 1)) * weightBytes : 0;
}

interface Geometry {
  batch: number; inChannels: number; inHeight: number; inWidth: number; outChannels: number;
  kernelHeight: number; kernelWidth: number; groups: number; outHeight: number; outWidth: number;
}

/** Bytes of a direction's largest operand: forward x, w, y; dx dy, w, dx; dw dy, x, dw; db dy. */
export function largestOperandBytes(g: Geometry, direction: ScratchDirection): number {
  const x = g.batch * g.inChannels * g.inHeight * g.inWidth;
  const dy = g.batch * g.outChannels * g.outHeight * g.outWidth;
  const w = g.outChannels * (g.inChannels / g.groups) * g.kernelHeight * g.kernelWidth;
  return 4 * (direction === "db" ? dy : Math.max(x, dy, w));
}

/**
 * Dilated layers "auto" runs through Winograd over their input's phases (assembly/conv2d/dilated.ts):
 * each work block (one per thread, plus the calling thread's beside a pool) holds one image's phase of
 * the input and of the output, and Winograd's own 16-tile block. These layers are small (X1's input is
 * 200 KiB), so those blocks are a large share of them; they are allowed on top of the bound.
 */
export function phaseAllowanceBytes(layer: { name: string; N: number; C: number; F: number; size: number; dilation: number },
  direction: ScratchDirection, blocks: number): number {
  if (layer.name !== "X1" || (direction !== "forward" && direction !== "dx")) return 0;
  const planes = (layer.C + layer.F) * (layer.size / layer.dilation + 2) ** 2;
  return blocks * 4 * (planes + 16 * 16 * (layer.C + layer.F));
}
