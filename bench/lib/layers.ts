// The benchmark layer suite (N, C, H=W, F, K, stride, pad, and dilation/groups where set): one list for every bench.

import type { Conv2dOptions } from "../../js/index.js";

export interface BenchLayer {
  /** Short name used in tables and charts. */
  name: string;
  N: number;
  C: number;
  /** H = W. */
  size: number;
  F: number;
  /** KH = KW. */
  K: number;
  stride: number;
  pad: number;
  dilation: number;
  groups: number;
  /** In the --quick subset. */
  quick: boolean;
}

const layer = (
  name: string, N: number, C: number, size: number, F: number, K: number, stride: number, pad: number,
  extra: { dilation?: number; groups?: number; quick?: boolean } = {},
): BenchLayer => ({ name, N, C, size, F, K, stride, pad, dilation: extra.dilation ?? 1, groups: extra.groups ?? 1, quick: extra.quick ?? false });

/** The suite of the speed issue: a tiny first layer, ResNet-style stages, a 7×7 stem, MNIST-sized batches, depthwise, dilated. */
export const LAYERS: readonly BenchLayer[] = [
  layer("L1", 1, 3, 32, 16, 3, 1, 1, { quick: true }),
  layer("L2", 1, 64, 56, 64, 3, 1, 1, { quick: true }),
  layer("L3", 1, 128, 28, 128, 3, 1, 1),
  layer("L4", 1, 64, 56, 128, 3, 2, 1),
  layer("L5", 1, 256, 14, 256, 1, 1, 0, { quick: true }),
  layer("L6", 1, 3, 224, 64, 7, 2, 3),
  layer("L7", 32, 1, 28, 8, 5, 1, 2, { quick: true }),
  layer("L8", 32, 8, 14, 16, 5, 1, 2),
  layer("D1", 1, 128, 28, 128, 3, 1, 1, { groups: 128, quick: true }),
  layer("X1", 1, 64, 28, 64, 3, 1, 2, { dilation: 2 }),
];

export function layerOptions(l: BenchLayer): Conv2dOptions {
  return { stride: l.stride, pad: l.pad, dilation: l.dilation, groups: l.groups };
}

export function inputShape(l: BenchLayer): number[] {
  return [l.N, l.C, l.size, l.size];
}

export function weightShape(l: BenchLayer): number[] {
  return [l.F, l.C / l.groups, l.K, l.K];
}

/** Ho = Wo for these square layers. */
export function outputSize(l: BenchLayer): number {
  return Math.floor((l.size + 2 * l.pad - l.dilation * (l.K - 1) - 1) / l.stride) + 1;
}

/** 2·N·F·Ho·Wo·(C/groups)·KH·KW: the FLOPs of one direction (forward, dx or dw). */
export function layerFlops(l: BenchLayer): number {
  const o = outputSize(l);
  return 2 * l.N * l.F * o * o * (l.C / l.groups) * l.K * l.K;
}
