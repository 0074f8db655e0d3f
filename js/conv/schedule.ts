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


/** One direction as it will run: its call, whether it takes the workers, and the bytes it needs. */
interface Planned {
  call: DirectionCall;
  shared: boolean;
  prepared: number;
  work: number;
  /** Bytes of its block: the prepared block and a work block per thread taking part. */
  bytes: number;
}

/**
 * Synchronously, in the runtime's reusable scratch block, each call in turn (a backward pass: db, dw,
 * dx). The block is grown to what the largest of them needs before any runs, so a call that cannot
 * have its memory throws ERR_OUT_OF_MEMORY (naming `where`) before a single gradient is written or
 * accumulated. With a pool that is free, a call worth it runs on this thread and the workers
 * together; otherwise on this thread alone.
 */
export function runSynchronously(runtime: Runtime, calls: readonly DirectionCall[], where: string): void {
  if (calls.length === 1) {
    runPlanned(runtime, plan(runtime, calls[0]!), where);
    return;
  }
  const planned = calls.map((call) => plan(runtime, call));
  let most = 0;
  for (const p of planned) most = Math.max(most, p.bytes);
  runtime.allocator.scratch(most, where);
  for (const p of planned) runPlanned(runtime, p, where);
}

function plan(runtime: Runtime, call: DirectionCall): Planned {
  const pool = runtime.pool;
  const shared = !!pool && pool.canRunHere && worthThreads(call);
  // Work blocks: one per worker, then this thread's. Every worker has its own even when it is not
  // asked to help: one that wakes late for an earlier phase joins whatever phase is running.
  const { prepared, work } = planBytes(runtime, call);
  return { call, shared, prepared, work, bytes: prepared + work * (shared ? pool!.size + 1 : 1) };
}

function runPlanned(runtime: Runtime, { call, shared, prepared, work, bytes }: Planned, where: string): void {
  const pool = runtime.pool;
  const block = runtime.allocator.scratch(bytes, where);
  const kernels = runtime.kernels;
  // Only these calls use the scratch block: while the allocator has not moved it, it holds the last
  // call's packing, which conv2dPrepare may keep (it compares the weights bit for bit).
  const reusable = runtime.allocator.scratchIntact ? 1 : 0;
  runtime.allocator.scratchIntact = false;
  const phases = kernels.conv2dPrepare(call.direction, writeGeometry(runtime, call.geometry), call.w, call.bias, block, reusable);
  runtime.allocator.scratchIntact = true;
  const mine = block + bytes - work;
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
 * The async path: each call in turn, in the pool's queue, on the workers alone. The calls share one
 * block of their own (not the reusable scratch, which synchronous calls may be using meanwhile), as
 * large as the largest needs, allocated before any runs and freed when the last ends or one fails; a
 * call too small for the workers runs on the calling thread in the queue's order, with the scratch
 * grown beforehand too. Without a pool the calls simply run here.
 */
export async function runCalls(runtime: Runtime, calls: readonly DirectionCall[], where: string): Promise<void> {
  const pool = runtime.pool;
  if (!pool || pool.isTerminated) {
    runSynchronously(runtime, calls, where);
    return;
  }
  const planned = calls.map((call) => ({ call, threaded: worthThreads(call), ...planBytes(runtime, call) }));
  const threaded = planned.filter((p) => p.threaded);
  const here = planned.filter((p) => !p.threaded);
  if (here.length > 0) runtime.allocator.scratch(Math.max(...here.map((p) => p.prepared + p.work)), where);
  const block = threaded.length > 0 ? runtime.allocator.allocate(Math.max(...threaded.map((p) => p.prepared + p.work * pool.size)), where) : 0;
  try {
    for (const { call, threaded: onWorkers, prepared, work } of planned) {
      if (!onWorkers) {
        await pool.enqueue(() => runSynchronously(runtime, [call], where));
        continue;
      }
      const kernels = runtime.kernels;
      const phases = kernels.conv2dPrepare(call.direction, writeGeometry(runtime, call.geometry), call.w, call.bias, block, 0);
      for (let phase = 0; phase < phases; phase++) {
        await pool.run(phaseJob(call, phase, block, prepared, work, kernels.conv2dTasks(block, phase)), where);
      }
    }
  } finally {
    if (block) runtime.allocator.free(block);
  }
}
