// Runs conv2d directions: plan the memory, prepare, run every task of each phase — on this thread, or on the worker pool.

import { Direction } from "../core/kernels.js";
import type { Runtime } from "../core/runtime.js";
import type { PhaseJob } from "../threads/pool.js";
import { convFlops, writeGeometry, type ConvGeometry } from "./geometry.js";

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
  const plan = runtime.planSlot;
  runtime.kernels.conv2dPlan(writeGeometry(runtime, call.geometry), call.direction, plan);
  const view = new Float64Array(runtime.kernels.memory.buffer, plan, 2);
  const align = (n: number) => Math.ceil(n / 64) * 64;
  return { prepared: align(view[0]!), work: align(view[1]!) };
}

/**
 * Per runtime, the scratch block's address when the last conv2dPrepare there finished (absent: none,
 * or it failed). Only runSynchronously uses the scratch block, so if it has not moved since, it holds
 * the last call's packing, which conv2dPrepare may keep.
 */
const preparedScratch = new WeakMap<Runtime, number>();

/**
 * Synchronously, in the runtime's reusable scratch block (the allocator grows it if needed; an
 * impossible size throws ERR_OUT_OF_MEMORY, naming `where`, before anything is written). With a pool
 * that is free, a call worth it runs on this thread and the workers together; otherwise on this
 * thread alone.
 */
export function runSynchronously(runtime: Runtime, call: DirectionCall, where: string): void {
  const pool = runtime.pool;
  const shared = !!pool && pool.canRunHere && worthThreads(call);
  // Work blocks: one per worker, then this thread's. Every worker has its own even when it is not
  // asked to help: one that wakes late for an earlier phase joins whatever phase is running.
  const blocks = shared ? pool!.size + 1 : 1;
  const { prepared, work } = planBytes(runtime, call);
  const block = runtime.allocator.scratch(prepared + work * blocks, where);
  const kernels = runtime.kernels;
  const reusable = block === preparedScratch.get(runtime) ? 1 : 0;
  preparedScratch.delete(runtime);
  const phases = kernels.conv2dPrepare(call.direction, writeGeometry(runtime, call.geometry), call.w, call.bias, block, reusable);
  preparedScratch.set(runtime, block);
  const mine = block + prepared + work * (blocks - 1);
  const accumulate = call.accumulate ? 1 : 0;
  for (let phase = 0; phase < phases; phase++) {
    const run = (t0: number, t1: number) => kernels.conv2dRun(phase, block, call.a, call.b, call.out, accumulate, mine, t0, t1);
    const tasks = kernels.conv2dTasks(block, phase);
    if (shared) pool!.runHere(phaseJob(call, phase, block, prepared, work, tasks), (task) => run(task, task + 1), where);
    else run(0, tasks);
  }
}

/**
 * Below this many FLOPs a call is not worth the workers (waking them and collecting their answers
 * costs tens of microseconds): it runs on the calling thread, still in the queue's order. A db is
 * N·F·Ho·Wo additions streamed from memory, about ten times slower each than a convolution's FLOPs
 * (L3's 100,352 take 19 µs on one thread), so it needs a tenth as many.
 */
const SMALL_CALL_FLOPS = 2e6;
const SMALL_CALL_BIAS_ADDS = 2e5;

function worthThreads(call: DirectionCall): boolean {
  const g = call.geometry;
  if (call.direction === Direction.DB) return g.batch * g.outChannels * g.outHeight * g.outWidth >= SMALL_CALL_BIAS_ADDS;
  return convFlops(g) >= SMALL_CALL_FLOPS;
}

function phaseJob(call: DirectionCall, phase: number, block: number, prepared: number, work: number, tasks: number): PhaseJob {
  return {
    direction: call.direction, phase, prepared: block, a: call.a, b: call.b, out: call.out, accumulate: call.accumulate ? 1 : 0,
    workBase: block + prepared, workStride: work, tasks,
  };
}

/**
 * The async path: each call in turn, in the pool's queue, on the workers alone. A call's prepared block
 * and one work block per worker are its own allocation (not the reusable scratch, which synchronous
 * calls may be using meanwhile), freed when it ends or fails. Without a pool the calls simply run here.
 */
export async function runCalls(runtime: Runtime, calls: DirectionCall[], where: string): Promise<void> {
  const pool = runtime.pool;
  if (!pool || pool.isTerminated) {
    for (const call of calls) runSynchronously(runtime, call, where);
    return;
  }
  for (const call of calls) {
    if (!worthThreads(call)) {
      await pool.enqueue(() => runSynchronously(runtime, call, where));
      continue;
    }
    const { prepared, work } = planBytes(runtime, call);
    const block = runtime.allocator.allocate(prepared + work * pool.size, where);
    try {
      const kernels = runtime.kernels;
      const phases = kernels.conv2dPrepare(call.direction, writeGeometry(runtime, call.geometry), call.w, call.bias, block, 0);
      for (let phase = 0; phase < phases; phase++) {
        await pool.run(phaseJob(call, phase, block, prepared, work, kernels.conv2dTasks(block, phase)), where);
      }
    } finally {
      runtime.allocator.free(block);
    }
  }
}
