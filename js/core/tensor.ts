// Tensor (float32 data in wasm memory) and its lifetime: tensor(), zeros(), scope(), keep(), and the outputs a kernel call owns.

import { ErrorCode, describe, fail } from "./errors.js";
import { runtimeArgument, type Runtime } from "./runtime.js";
import { MAX_MEMORY_BYTES } from "./memory.js";
import { checkShape, shapeText, sizeOf } from "./shape.js";

// Symbol.dispose is typed here so that these declarations compile without lib "esnext.disposable"
// (the same declaration as TypeScript's own, which it merges with). Engines without it (Node 20 has
// it; older browsers may not) simply never call the method.
declare global {
  interface SymbolConstructor {
    readonly dispose: unique symbol;
  }
}

/**
 * A float32 tensor living in one runtime's wasm memory. It never keeps a typed-array view: every read
 * builds a fresh one, so memory growth cannot leave it stale.
 */
export class Tensor {
  readonly shape: readonly number[];
  /** Number of elements: the product of the shape. */
  readonly size: number;
  readonly runtime: Runtime;
  /** @internal Byte address in linear memory; 0 once disposed. */
  _address: number;
  /** @internal Async calls using this tensor right now; while > 0 a dispose() only defers the free. */
  _pins = 0;
  /** @internal The address to free when the last pin goes (a dispose() arrived while pinned). */
  _pendingFree = 0;

  /** @internal Use tensor() or zeros(). */
  constructor(runtime: Runtime, shape: readonly number[], address: number) {
    this.runtime = runtime;
    this.shape = Object.freeze([...shape]);
    this.size = sizeOf(shape);
    this._address = address;
  }

  get disposed(): boolean {
    return this._address === 0;
  }

  /** A copy of the data, safe to keep across later calls and memory growth. */
  toFloat32Array(): Float32Array {
    const address = tensorAddress(this, this.runtime, "Tensor.toFloat32Array", "this");
    return new Float32Array(this.runtime.kernels.memory.buffer, address, this.size).slice();
  }

  /** Overwrites the data in place (same length), e.g. to load trained weights. */
  write(data: Float32Array | ArrayLike<number>): this {
    const address = tensorAddress(this, this.runtime, "Tensor.write", "this");
    checkData(data, this.size, "Tensor.write", "data");
    new Float32Array(this.runtime.kernels.memory.buffer, address, this.size).set(data);
    return this;
  }

  /** Frees the wasm memory (after any async call still using it finishes). Idempotent. */
  dispose(): void {
    if (this._address === 0) return;
    if (this._pins > 0) this._pendingFree = this._address;
    else this.runtime.allocator.free(this._address);
    this._address = 0;
    untrack(this);
  }

  /** `using t = tensor(...)` disposes t at the end of the block (where the language has `using`; see docs/api.md). */
  [Symbol.dispose](): void {
    this.dispose();
  }

  [Symbol.toPrimitive](hint: string): string | number {
    if (hint === "number") return NaN;
    return `Tensor(${this.shape.join("×")}${this.disposed ? ", disposed" : ""})`;
  }
}

/** Copies data into a new tensor of the given shape in the default runtime (or the one given). */
export function tensor(data: Float32Array | ArrayLike<number>, shape: readonly number[], runtime?: Runtime): Tensor {
  const where = "tensor";
  const rt = runtimeArgument(runtime, where);
  const size = checkShape(shape, where, "shape");
  checkData(data, size, where, "data");
  const t = allocateTensor(rt, shape, where);
  new Float32Array(rt.kernels.memory.buffer, t._address, size).set(data);
  return t;
}

/** A new zero-filled tensor. */
export function zeros(shape: readonly number[], runtime?: Runtime): Tensor {
  const where = "zeros";
  const rt = runtimeArgument(runtime, where);
  const size = checkShape(shape, where, "shape");
  const t = allocateTensor(rt, shape, where);
  new Float32Array(rt.kernels.memory.buffer, t._address, size).fill(0);
  return t;
}

/**
 * @internal A tensor of a shape already validated; contents undefined. Tracked by the open scope
 * unless `tracked` is false (a layer's or an optimiser's own tensors). `where` names the caller in
 * an out-of-memory error.
 */
export function allocateTensor(runtime: Runtime, shape: readonly number[], where: string, tracked = true): Tensor {
  const bytes = sizeOf(shape) * 4;
  if (bytes > MAX_MEMORY_BYTES) {
    fail(ErrorCode.OUT_OF_MEMORY, where, "shape", "a tensor under 4 GiB, WebAssembly's memory limit", `${shapeText(shape)}, ${bytes} bytes`);
  }
  const t = new Tensor(runtime, shape, runtime.allocator.allocate(bytes, where));
  if (tracked) track(t);
  return t;
}

/**
 * @internal Runs a kernel call (and whatever it needs first) that writes `outputs`; if that throws,
 * frees them before the error goes on, so a failed call leaks nothing.
 */
export function runKernel(outputs: readonly (Tensor | null)[], kernel: () => void): void {
  try {
    kernel();
  } catch (error) {
    for (const t of outputs) t?.dispose();
    throw error;
  }
}

/**
 * @internal The address of a live tensor of `runtime`, or the standard error for a non-tensor, a
 * disposed tensor or one from another runtime.
 */
export function tensorAddress(value: unknown, runtime: Runtime, where: string, argument: string): number {
  const own = runtimeOf(value, where, argument);
  if (own !== runtime) {
    fail(ErrorCode.FOREIGN_TENSOR, where, argument, `a tensor of ${runtime.label}, as the other arguments`,
      `one of ${own.label} (each init() with other options, and each createRuntime(), makes a new runtime: ` +
      "tensors and layers stay in the one they were made in)");
  }
  return (value as Tensor)._address;
}

/** @internal The runtime the first tensor argument belongs to (checked for being a live Tensor). */
export function runtimeOf(value: unknown, where: string, argument: string): Runtime {
  if (!(value instanceof Tensor)) fail(ErrorCode.NOT_A_TENSOR, where, argument, "a Tensor", describe(value));
  if (value._address === 0) fail(ErrorCode.DISPOSED, where, argument, "a live tensor", "a disposed tensor");
  return value.runtime;
}

/** @internal Marks tensors as in use by an async call: their memory outlives a dispose() until unpin. */
export function pin(tensors: readonly (Tensor | null | undefined)[]): void {
  for (const t of tensors) if (t) t._pins++;
}

/** @internal Ends an async call's use; frees what was disposed meanwhile. */
export function unpin(tensors: readonly (Tensor | null | undefined)[]): void {
  for (const t of tensors) {
    if (!t || --t._pins > 0 || t._pendingFree === 0) continue;
    t.runtime.allocator.free(t._pendingFree);
    t._pendingFree = 0;
  }
}

function checkData(data: unknown, size: number, where: string, argument: string): void {
  const isArrayLike = Array.isArray(data) ||
    (ArrayBuffer.isView(data) && !(data instanceof DataView) && !(data instanceof BigInt64Array) && !(data instanceof BigUint64Array));
  if (!isArrayLike) fail(ErrorCode.DATA_TYPE, where, argument, "a Float32Array or an array of numbers", describe(data));
  const length = (data as ArrayLike<number>).length;
  if (length !== size) {
    fail(ErrorCode.DATA_LENGTH, where, argument, `${size} values (the product of the shape)`, `${length} values`);
  }
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) {
      if (typeof data[i] !== "number") fail(ErrorCode.DATA_TYPE, where, `${argument}[${i}]`, "a number", describe(data[i]));
    }
  }
}

// ---- scope(): the stack of open scopes, each the set of tensors created while it was on top.

const scopes: Set<Tensor>[] = [];

function track(t: Tensor): void {
  scopes[scopes.length - 1]?.add(t);
}

/** @internal Puts a tensor back in the innermost open scope: a container's output, kept while it could have been an activation. */
export function retrack<T extends Tensor>(t: T): T {
  track(t);
  return t;
}

function untrack(t: Tensor): void {
  for (const s of scopes) s.delete(t);
}

/**
 * Runs fn and disposes every tensor created inside it except those it returns (a Tensor, or Tensors in
 * a returned array or plain object), which pass to the enclosing scope. Like tf.tidy; fn must be synchronous.
 */
export function scope<T>(fn: () => T): T {
  if (typeof fn !== "function") fail(ErrorCode.INVALID_OPTION, "scope", "fn", "a function", describe(fn));
  const created = new Set<Tensor>();
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of created) t.dispose();
    throw error;
  }
  scopes.pop();
  if (result && typeof (result as { then?: unknown }).then === "function") {
    for (const t of created) t.dispose();
    fail(ErrorCode.ASYNC_SCOPE, "scope", "fn", "a synchronous function", "a function that returned a Promise");
  }
  const kept = new Set<Tensor>();
  collectTensors(result, kept, 0);
  for (const t of created) {
    if (kept.has(t)) track(t);
    else t.dispose();
  }
  return result;
}

/** Takes a tensor out of every open scope, so it survives them; returns it. */
export function keep<T extends Tensor>(t: T): T {
  if (!(t instanceof Tensor)) fail(ErrorCode.NOT_A_TENSOR, "keep", "t", "a Tensor", describe(t));
  untrack(t);
  return t;
}

function collectTensors(value: unknown, into: Set<Tensor>, depth: number): void {
  if (depth > 8 || value === null || typeof value !== "object") return;
  if (value instanceof Tensor) {
    into.add(value);
    return;
  }
  const items = Array.isArray(value) ? value : Object.getPrototypeOf(value) === Object.prototype ? Object.values(value) : [];
  for (const item of items) collectTensors(item, into, depth + 1);
}
