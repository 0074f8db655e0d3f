// Runs one conv2d direction on the calling thread: plan its memory, prepare it, run every task of each phase.

import { Direction } from "./kernels.js";
import type { ConvGeometry } from "./geometry.js";
import type { Runtime } from "./runtime.js";

/** The operands of one direction; see conv2dRun in assembly/conv2d/plan.ts. */
export interface DirectionCall {
  direction: Direction;
  geometry: ConvGeometry;
  /** Weights (forward, dx) and bias (forward) for prepare; 0 where unused. */
  w: number;
  bias: number;
  /** forward (x, −), dx (dy, −), dw (dy, x), db (dy, −). */
  a: number;
  b: number;
  out: number;
  accumulate: boolean;
}

/** Bytes of the prepared block and of one thread's work block, 64-aligned. */
export function planBytes(runtime: Runtime, call: DirectionCall): { prepared: number; work: number } {
  const plan = runtime.planSlot();
  runtime.kernels.conv2dPlan(runtime.geometry(call.geometry), call.direction, plan);
  const view = new Float64Array(runtime.kernels.memory.buffer, plan, 2);
  const align = (n: number) => Math.ceil(n / 64) * 64;
  return { prepared: align(view[0]!), work: align(view[1]!) };
}

/**
 * Synchronously, in the runtime's reusable scratch block (the allocator grows it if needed; an
 * impossible size throws ERR_OUT_OF_MEMORY before anything is written).
 */
export function runOnThisThread(runtime: Runtime, call: DirectionCall): void {
  const { prepared, work } = planBytes(runtime, call);
  const block = runtime.allocator.scratch(prepared + work);
  const kernels = runtime.kernels;
  const phases = kernels.conv2dPrepare(call.direction, runtime.geometry(call.geometry), call.w, call.bias, block);
  for (let phase = 0; phase < phases; phase++) {
    kernels.conv2dRun(call.direction, phase, block, call.a, call.b, call.out, call.accumulate ? 1 : 0,
      block + prepared, 0, kernels.conv2dTasks(block, phase));
  }
}
