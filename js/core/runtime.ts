// Runtime (one instantiated module: its memory, allocator, threads and per-call slots) and the default runtime tensor() and the layers use.

import { ConvError, ErrorCode, describe, fail } from "./errors.js";
import { Allocator, type MemoryUsage } from "./memory.js";
import { BroadcastForm, type BroadcastName, type KernelExports } from "./kernels.js";
import { preferredBroadcast } from "./features.js";
// A type only: core runs without the threads part; init.ts hands a started pool over.
import type { ThreadPool } from "../threads/pool.js";

let runtimesMade = 0;

/** One instantiated module with its memory, allocator and threads. Tensors and layers belong to exactly one. */
export class Runtime {
  /** @internal */
  readonly kernels: KernelExports;
  /** @internal */
  readonly allocator: Allocator;
  /** Which arithmetic the loaded build uses: "fixed" (mul then add) or "relaxed" (fused multiply-add). */
  readonly simd: "fixed" | "relaxed";
  /** Threads a call uses (1: the calling thread alone). */
  readonly threads: number;
  /** Why threads are not in use, where init({ threads: "auto" }) found them unavailable. */
  readonly threadsNote: string | undefined;
  /** This runtime's number in the program: 1 for the first init() or createRuntime(), and so on. */
  readonly id: number;
  /** @internal The worker pool (threads > 1). */
  readonly pool: ThreadPool | undefined;
  /** @internal Where a convolution call writes its geometry (GEOMETRY_BYTES) and conv2dPlan its answer (PLAN_BYTES). */
  readonly geometrySlot: number;
  readonly planSlot: number;
  private readonly slotBytes: number;
  /** @internal The micro-kernel form this runtime's calls use: chosen for the engine (features.ts), set by tests. */
  broadcast: BroadcastName = "load";

  /** @internal Use init() or createRuntime(). */
  constructor(kernels: KernelExports, pool?: ThreadPool, threadsNote?: string) {
    this.kernels = kernels;
    this.pool = pool;
    this.threads = pool?.size ?? 1;
    this.threadsNote = threadsNote;
    this.id = ++runtimesMade;
    this.allocator = new Allocator(kernels.memory, kernels.heapBase());
    this.simd = kernels.usesRelaxedSimd() ? "relaxed" : "fixed";
    const geometryBytes = kernels.GEOMETRY_BYTES.value as number, planBytes = kernels.PLAN_BYTES.value as number;
    this.geometrySlot = this.allocator.allocate(geometryBytes, "init");
    this.planSlot = this.allocator.allocate(planBytes, "init");
    this.slotBytes = this.allocator.usage().bytesInUse;
    this.useBroadcast(preferredBroadcast());
  }

  /**
   * @internal Makes this runtime's later calls use a form of the micro-kernel (the same bits either
   * way; the tests run both). Only the calling thread's instance needs it: conv2dPrepare writes the
   * form into each call's prepared block, which the workers read.
   */
  useBroadcast(form: BroadcastName): void {
    this.kernels.setBroadcastForm(BroadcastForm[form]);
    this.broadcast = form;
  }

  /** "runtime #2 (fixed SIMD, 1 thread)": how errors name it. */
  get label(): string {
    return `runtime #${this.id} (${this.simd} SIMD, ${this.threads} thread${this.threads === 1 ? "" : "s"})`;
  }

  /**
   * Ends the worker threads (if any); calls then run on the calling thread. Not needed for a Node
   * process to exit: idle workers never keep it alive.
   */
  terminate(): void {
    this.pool?.terminate();
  }

  /** Bytes in use by tensors (the runtime's own slots excluded), scratch and the wasm memory size. */
  memoryUsage(): MemoryUsage {
    const usage = this.allocator.usage();
    return { ...usage, bytesInUse: usage.bytesInUse - this.slotBytes, peakBytesInUse: usage.peakBytesInUse - this.slotBytes };
  }
}

let defaultRuntime: Runtime | undefined;

/** @internal Makes a runtime the default that tensor(), zeros() and the layers use (init() does). */
export function setDefaultRuntime(runtime: Runtime): void {
  defaultRuntime = runtime;
}

/** @internal The default runtime, if init() has made one. */
export function defaultRuntimeIfAny(): Runtime | undefined {
  return defaultRuntime;
}

/** The runtime of the latest init(); throws ERR_NOT_INITIALIZED before the first. */
export function currentRuntime(where: string): Runtime {
  if (!defaultRuntime) {
    throw new ConvError(ErrorCode.NOT_INITIALIZED, `${where}: call (and await) init() first`, {
      expected: "init() to have completed", received: "no runtime",
    });
  }
  return defaultRuntime;
}

/** A runtime argument: the given Runtime, or the default one when undefined. */
export function runtimeArgument(runtime: unknown, where: string, argument = "runtime"): Runtime {
  if (runtime === undefined) return currentRuntime(where);
  if (!(runtime instanceof Runtime)) fail(ErrorCode.INVALID_OPTION, where, argument, "a Runtime (from init() or createRuntime())", describe(runtime));
  return runtime;
}

/** Bytes, usage and sizes of the default runtime's memory (or the given one's). */
export function memoryUsage(runtime?: Runtime): MemoryUsage {
  return runtimeArgument(runtime, "memoryUsage").memoryUsage();
}
