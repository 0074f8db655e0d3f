// Tensors in and out of a tfjs backend: read through the backend's own API, copied into a runtime's memory, transposed there by the wasm kernel.

import { ErrorCode, fail } from "../core/errors.js";
import type { Runtime } from "../core/runtime.js";
import { sizeOf } from "../core/shape.js";
import type { TfjsTensorInfo } from "./types.js";

/** tfjs-backend-wasm's methods (BackendWasm) the plugin uses. */
interface WasmBackend {
  typedArrayFromHeap(info: TfjsTensorInfo): Float32Array;
  makeOutput(shape: number[], dtype: string): TfjsTensorInfo;
}

/** tfjs-backend-cpu's (MathBackendCPU). */
interface CpuBackend {
  data: { get(dataId: object): { values?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array): TfjsTensorInfo;
}

/** Which of the two kinds a kernel's backend is. */
export function backendKind(backend: unknown): "wasm" | "cpu" | undefined {
  const b = backend as Partial<WasmBackend & CpuBackend> | null;
  if (b && typeof b.typedArrayFromHeap === "function" && typeof b.makeOutput === "function") return "wasm";
  if (b && typeof b.makeTensorInfo === "function" && b.data && typeof b.data.get === "function") return "cpu";
  return undefined;
}

/**
 * A float32 view of a (float32) tensor's values where the backend keeps them. On wasm it is taken
 * fresh at each use: tfjs's heap grows, and a view taken before that sees a detached buffer.
 */
export function valuesOf(backend: unknown, info: TfjsTensorInfo, where: string, argument: string): Float32Array {
  let values: unknown;
  if (backendKind(backend) === "wasm") values = (backend as WasmBackend).typedArrayFromHeap(info);
  else values = (backend as CpuBackend).data.get(info.dataId)?.values;
  if (!(values instanceof Float32Array)) fail(ErrorCode.DATA_TYPE, where, argument, "float32 values held by the backend", "none");
  return values;
}

/**
 * Blocks of a runtime's memory that one kernel call uses, freed together whatever happens: a kernel
 * leaves nothing behind in the runtime, whether it returns or throws.
 */
export class Staging {
  private readonly blocks: number[] = [];
  constructor(readonly runtime: Runtime, readonly where: string) {}

  /** A block of `count` floats, contents undefined. */
  allocate(count: number): number {
    const address = this.runtime.allocator.allocate(count * 4, this.where);
    this.blocks.push(address);
    return address;
  }

  /** The floats at address, as a view of the memory now (it may have grown since). */
  view(address: number, count: number): Float32Array {
    return new Float32Array(this.runtime.kernels.memory.buffer, address, count);
  }

  /** A copy of values in the runtime's memory. */
  copyIn(values: Float32Array): number {
    const address = this.allocate(values.length);
    this.view(address, values.length).set(values);
    return address;
  }

  /**
   * values, [batch, rows, cols] row-major, copied in as [batch, cols, rows]; when rows or cols is 1 the
   * order is the same and it is a plain copy.
   */
  copyInTransposed(values: Float32Array, batch: number, rows: number, cols: number): number {
    return this.transpose(this.copyIn(values), batch, rows, cols);
  }

  /** [batch, rows, cols] at src → a new block [batch, cols, rows] (src itself where rows or cols is 1: the same order). */
  transpose(src: number, batch: number, rows: number, cols: number): number {
    if (rows === 1 || cols === 1) return src;
    const dst = this.allocate(batch * rows * cols);
    this.runtime.kernels.transposeBatched(src, dst, batch, rows, cols);
    return dst;
  }

  /** Frees every block. */
  release(): void {
    for (const address of this.blocks) this.runtime.allocator.free(address);
    this.blocks.length = 0;
  }
}

/** A new tensor of the backend holding `count` floats from the runtime's memory at address. */
export function outputFrom(backend: unknown, shape: number[], staging: Staging, address: number): TfjsTensorInfo {
  const count = sizeOf(shape);
  if (backendKind(backend) === "wasm") {
    const wasm = backend as WasmBackend;
    const out = wasm.makeOutput(shape, "float32");
    // makeOutput may grow tfjs's heap: the view is taken after it.
    wasm.typedArrayFromHeap(out).set(staging.view(address, count));
    return out;
  }
  return (backend as CpuBackend).makeTensorInfo(shape, "float32", staging.view(address, count).slice());
}

/** A new tensor of the backend, all zeros (an empty batch's gradient). */
export function zerosOutput(backend: unknown, shape: number[]): TfjsTensorInfo {
  if (backendKind(backend) === "wasm") {
    const wasm = backend as WasmBackend;
    const out = wasm.makeOutput(shape, "float32");
    wasm.typedArrayFromHeap(out).fill(0);
    return out;
  }
  return (backend as CpuBackend).makeTensorInfo(shape, "float32", new Float32Array(sizeOf(shape)));
}
