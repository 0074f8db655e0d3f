// init(): loads and instantiates the kernel module (bytes | Module | URL | Response), one Runtime per call.

import { instantiate } from "@assemblyscript/loader";
import { ConvError, ErrorCode, describe, fail } from "./errors.js";
import { Allocator, type MemoryUsage } from "./memory.js";
import { GEOMETRY_FIELDS, checkOptionsObject, type ConvGeometry } from "./geometry.js";
import { REQUIRED_EXPORTS, type KernelExports } from "./kernels.js";
import { ThreadPool } from "./threads.js";

/** Anything init() can load the module from. */
export type WasmSource =
  | WebAssembly.Module
  | ArrayBuffer
  | ArrayBufferView
  | URL
  | string
  | Response
  | PromiseLike<Response | WebAssembly.Module | ArrayBuffer | ArrayBufferView>;

export interface InitOptions {
  /**
   * The module to run. Default: the build bundled beside this file (read from disk in Node, Deno and
   * Bun, fetched via import.meta.url in browsers). Edge runtimes that forbid compiling bytes (workerd)
   * pass the WebAssembly.Module they imported.
   */
  wasm?: WasmSource;
  /**
   * Which arithmetic to run. "auto" (default): the relaxed-SIMD build (fused multiply-add) where the
   * engine has relaxed SIMD, else the fixed one. "fixed": the plain SIMD build, separate multiply and
   * add, bit-identical on every engine. "relaxed": insist on FMA; ERR_INIT where the engine lacks it.
   * With `wasm` given, the module's own build must match a "fixed" or "relaxed" request.
   */
  simd?: "auto" | "fixed" | "relaxed";
  /**
   * Worker threads for the async API (conv2dAsync, conv2dBackwardAsync, the layers' *Async methods).
   * 1 (default): the single-thread build, no workers. A number n > 1: the threads build on shared
   * memory with n workers; ERR_INIT where SharedArrayBuffer or workers are missing (workerd, pages that
   * are not crossOriginIsolated). "auto": as many workers as the machine has cores where threads are
   * available, else the single-thread build; runtime.threads and runtime.threadsNote say which.
   */
  threads?: number | "auto";
}

const INIT_KEYS = ["wasm", "simd", "threads"];
/** Shared memory is declared with its maximum up front (the threads builds are compiled with it): 4 GiB. */
const SHARED_MAXIMUM_PAGES = 65536;
const SHARED_INITIAL_PAGES = 32;
/** Bytes of the slot conv2dPlan writes into (a multiple of the allocator's 64-byte alignment). */
const PLAN_BYTES = 256;

/** One instantiated module with its memory, allocator and geometry slot. Tensors belong to exactly one. */
export class Runtime {
  readonly kernels: KernelExports;
  readonly allocator: Allocator;
  /** Which arithmetic the loaded build uses: "fixed" (mul then add) or "relaxed" (fused multiply-add). */
  readonly simd: "fixed" | "relaxed";
  private readonly geometryAddress: number;
  private readonly planAddress: number;

  /** Worker threads the async API spreads a call over (1: it runs on the calling thread). */
  readonly threads: number;
  /** Why threads are not in use, where init({ threads: "auto" }) found them unavailable. */
  readonly threadsNote: string | undefined;
  /** @internal The scratch block's address when the last conv2dPrepare there finished (0: none, or it failed). */
  scratchPrepared = 0;
  /** @internal The worker pool (threads > 1). */
  pool: ThreadPool | undefined;

  /** @internal Use init(). */
  constructor(kernels: KernelExports, pool?: ThreadPool, threadsNote?: string) {
    this.kernels = kernels;
    this.pool = pool;
    this.threads = pool?.size ?? 1;
    this.threadsNote = threadsNote;
    this.allocator = new Allocator(kernels.memory, kernels.heapBase());
    this.simd = kernels.usesRelaxedSimd() ? "relaxed" : "fixed";
    this.geometryAddress = this.allocator.allocate(GEOMETRY_FIELDS.length * 4);
    this.planAddress = this.allocator.allocate(PLAN_BYTES);
  }

  /** @internal 256 bytes where conv2dPlan writes its answer. */
  planSlot(): number {
    return this.planAddress;
  }

  /** Writes the geometry where the kernels read it and returns its address. */
  geometry(g: ConvGeometry): number {
    const view = new Int32Array(this.kernels.memory.buffer, this.geometryAddress, GEOMETRY_FIELDS.length);
    for (let i = 0; i < GEOMETRY_FIELDS.length; i++) view[i] = g[GEOMETRY_FIELDS[i]!];
    return this.geometryAddress;
  }

  /**
   * Ends the worker threads (if any); the async API then runs on the calling thread. Not needed for
   * a Node process to exit: idle workers never keep it alive.
   */
  terminate(): void {
    this.pool?.terminate();
  }

  /** Bytes in use by tensors (the runtime's own slots excluded), scratch and the wasm memory size. */
  memoryUsage(): MemoryUsage {
    const usage = this.allocator.usage();
    const slot = Math.ceil((GEOMETRY_FIELDS.length * 4) / 64) * 64 + PLAN_BYTES;
    return { ...usage, bytesInUse: usage.bytesInUse - slot, peakBytesInUse: usage.peakBytesInUse - slot };
  }
}

let defaultRuntime: Runtime | undefined;

/** Loads the kernels; the new Runtime becomes the default that tensor() and friends use. */
export async function init(options?: InitOptions): Promise<Runtime> {
  const opts = checkOptionsObject(options, INIT_KEYS, "init", "options");
  const simd = opts.simd ?? "auto";
  if (simd !== "fixed" && simd !== "auto" && simd !== "relaxed") {
    fail(ErrorCode.INVALID_OPTION, "init", "options.simd", '"auto", "fixed" or "relaxed"', describe(simd));
  }
  const relaxedAvailable = hasRelaxedSimd();
  if (simd === "relaxed" && !relaxedAvailable) {
    fail(ErrorCode.INIT, "init", "options.simd",
      "an engine with relaxed SIMD (Chromium, Deno, Bun; Node 20 only with --experimental-wasm-relaxed-simd)", "an engine without it");
  }
  const threads = await chooseThreads(opts.threads);
  const build = simd === "fixed" || !relaxedAvailable ? "fixed" : "relaxed";
  const source = opts.wasm ?? bundledWasm(build, threads.count > 1);
  let exports: KernelExports;
  let pool: ThreadPool | undefined;
  try {
    let resolved = await resolveSource(source);
    if (threads.count > 1) {
      // Workers need the compiled Module (it is what crosses to them) and all share one memory.
      const module = resolved instanceof WebAssembly.Module ? resolved
        : await WebAssembly.compile(resolved instanceof Response ? await resolved.arrayBuffer() : resolved as BufferSource);
      if (!WebAssembly.Module.imports(module).some((i) => i.kind === "memory")) {
        throw new Error("options.wasm is not a threads build (it does not import a shared memory)");
      }
      const memory = new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: SHARED_MAXIMUM_PAGES, shared: true });
      const result = await instantiate<Record<string, unknown>>(module, { env: { memory } });
      exports = result.exports as unknown as KernelExports;
      checkExports(exports);
      pool = await ThreadPool.start(threads.count, module, memory);
    } else {
      const result = await instantiate<Record<string, unknown>>(resolved, {});
      exports = result.exports as unknown as KernelExports;
    }
  } catch (cause) {
    if (cause instanceof ConvError) throw cause;
    throw new ConvError(ErrorCode.INIT, `init: could not load the wasm module: ${(cause as Error)?.message ?? cause}`, {
      argument: "options.wasm", expected: "a valid wasm-conv2d module", received: describe(opts.wasm ?? "the bundled build"), cause,
    });
  }
  checkExports(exports);
  const runtime = new Runtime(exports, pool, threads.note);
  if (opts.wasm !== undefined && simd !== "auto" && runtime.simd !== simd) {
    runtime.terminate();
    fail(ErrorCode.INIT, "init", "options.simd", `a module built for "${simd}" SIMD`, `a "${runtime.simd}" build`);
  }
  defaultRuntime = runtime;
  return runtime;
}

function checkExports(exports: KernelExports): void {
  for (const name of REQUIRED_EXPORTS) {
    if (!(name in exports)) {
      fail(ErrorCode.INIT, "init", "options.wasm", "a wasm-conv2d module", `a module that does not export "${name}"`);
    }
  }
}

/** How many workers a threads option asks for, here; where "auto" finds none, why. */
async function chooseThreads(value: unknown): Promise<{ count: number; note?: string }> {
  if (value === undefined || value === 1) return { count: 1 };
  const missing = threadsMissing();
  if (value === "auto") {
    if (missing) return { count: 1, note: missing };
    const cores = await hardwareThreads();
    return cores > 1 ? { count: cores } : { count: 1, note: "this machine has one core" };
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 256) {
    fail(ErrorCode.INVALID_OPTION, "init", "options.threads", 'a whole number from 1 to 256 or "auto"', describe(value));
  }
  if (missing) {
    fail(ErrorCode.INIT, "init", "options.threads", "an engine with shared memory and workers", `one where ${missing}`);
  }
  return { count: value };
}

/** Shared memory with a maximum, declared by an import: engines without wasm threads reject it. */
const THREADS_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x02, 0x10, 0x01, 0x03, 0x65, 0x6e, 0x76, 0x06, 0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, // import "env" "memory"
  0x02, 0x03, 0x01, 0x01, // memory, shared, min 1, max 1
]);

/** Why threads cannot run here, or undefined if they can. */
export function threadsMissing(): string | undefined {
  if (typeof SharedArrayBuffer === "undefined") return "SharedArrayBuffer is missing (in a browser: serve the page with COOP/COEP headers)";
  if ((globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) return "the page is not crossOriginIsolated";
  try {
    if (!WebAssembly.validate(THREADS_PROBE)) return "this engine has no wasm threads";
  } catch {
    return "this engine has no wasm threads";
  }
  if (!isNodeLike() && typeof Worker === "undefined") return "there are no Workers";
  if (typeof (Atomics as { waitAsync?: unknown }).waitAsync !== "function") return "this engine has no Atomics.waitAsync";
  return undefined;
}

/** Node, or a runtime that answers to process.versions.node (Deno and Bun do). */
export function isNodeLike(): boolean {
  const versions = (globalThis as { process?: { versions?: Record<string, string | undefined> } }).process?.versions;
  return !!versions?.node;
}

async function hardwareThreads(): Promise<number> {
  const navigatorCores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  if (navigatorCores) return navigatorCores;
  try {
    const specifier = "node:os";
    const os = (await import(/* @vite-ignore */ specifier)) as { availableParallelism?(): number; cpus(): unknown[] };
    return os.availableParallelism?.() ?? os.cpus().length;
  } catch {
    return 1;
  }
}

/** The Runtime of the latest init(); throws ERR_NOT_INITIALIZED before the first. */
export function currentRuntime(where: string): Runtime {
  if (!defaultRuntime) {
    throw new ConvError(ErrorCode.NOT_INITIALIZED, `${where}: call (and await) init() first`, {
      expected: "init() to have completed", received: "no runtime",
    });
  }
  return defaultRuntime;
}

/** Bytes, usage and sizes of the default runtime's memory. */
export function memoryUsage(runtime?: Runtime): MemoryUsage {
  return (runtime ?? currentRuntime("memoryUsage")).memoryUsage();
}

// Literal URLs beside this module: bundlers (Vite, webpack, esbuild) see them and ship the files.
function bundledWasm(build: "fixed" | "relaxed", threads: boolean): URL {
  if (threads) {
    return build === "relaxed"
      ? new URL("../build/conv2d-relaxed-threads.wasm", import.meta.url)
      : new URL("../build/conv2d-simd-threads.wasm", import.meta.url);
  }
  return build === "relaxed"
    ? new URL("../build/conv2d-relaxed.wasm", import.meta.url)
    : new URL("../build/conv2d-simd.wasm", import.meta.url);
}

/**
 * The smallest module using a relaxed-SIMD instruction: (func (result v128) (f32x4.relaxed_madd
 * (v128.const 0) (v128.const 0) (v128.const 0))). Engines without relaxed SIMD reject it.
 */
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7b, // type: [] -> [v128]
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x3d, 0x01, 0x3b, 0x00, // code: one body of 59 bytes, no locals
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array<number>(16).fill(0)]), // 3 × v128.const 0
  0xfd, 0x85, 0x02, 0x0b, // f32x4.relaxed_madd, end
]);

/** Whether this engine runs relaxed SIMD (asked anew each time: Node can gain it via a V8 flag). */
export function hasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

async function resolveSource(source: WasmSource): Promise<WebAssembly.Module | BufferSource | Response> {
  let value = await source;
  if (value instanceof URL || typeof value === "string") {
    const url = value instanceof URL ? value : new URL(value, import.meta.url);
    if (url.protocol === "file:") return readFile(url);
    value = await fetch(url);
  }
  if (typeof Response !== "undefined" && value instanceof Response) {
    if (!value.ok) throw new Error(`HTTP ${value.status} ${value.statusText} for ${value.url || "the wasm response"}`);
    // Streaming compilation insists on the application/wasm MIME type; many servers send another, so
    // such a response is read whole instead of failing.
    const type = value.headers.get("content-type") ?? "";
    if (!type.toLowerCase().startsWith("application/wasm")) return new Uint8Array(await value.arrayBuffer());
  }
  return value as WebAssembly.Module | BufferSource | Response;
}

// node:fs through a computed specifier: only file: URLs (Node, Deno, Bun) reach it, and browser bundlers
// must not try to resolve it.
async function readFile(url: URL): Promise<Uint8Array> {
  const specifier = "node:fs/promises";
  const fs = (await import(/* @vite-ignore */ specifier)) as { readFile(path: URL): Promise<Uint8Array> };
  return fs.readFile(url);
}
