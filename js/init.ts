// init() and createRuntime(): pick a build for this engine, load and instantiate it, start the worker pool.

import { instantiate } from "@assemblyscript/loader";
import { ConvError, ErrorCode, describe, fail } from "./core/errors.js";
import { checkOptionsObject } from "./core/checks.js";
import { hardwareThreads, hasRelaxedSimd, threadsMissing } from "./core/features.js";
import { checkKernelExports, type KernelExports } from "./core/kernels.js";
import { Runtime, defaultRuntimeIfAny, setDefaultRuntime } from "./core/runtime.js";
import { compileSource, resolveSource, type WasmSource } from "./core/source.js";
import { GEOMETRY_FIELDS } from "./conv/geometry.js";
import type { ThreadPool } from "./threads/pool.js";

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
   * Threads for the convolutions. 1 (default): the single-thread build, no workers. A number n > 1:
   * the threads build on shared memory with n workers; ERR_INIT where SharedArrayBuffer or workers
   * are missing (workerd, pages that are not crossOriginIsolated). "auto": one per core where threads
   * are available, else the single-thread build; runtime.threads and runtime.threadsNote say which.
   */
  threads?: number | "auto";
}

const INIT_KEYS = ["wasm", "simd", "threads"];
/** Shared memory is declared with its maximum up front (the threads builds are compiled with it): 4 GiB. */
const SHARED_MAXIMUM_PAGES = 65536;
const SHARED_INITIAL_PAGES = 32;

type InitRecord = { simd: string; threads: number | "auto"; wasm: WasmSource | undefined; runtime: Promise<Runtime> };
/** The options of the latest init() (normalised) and the runtime they made, or are making. */
let latest: InitRecord | undefined;
/** Those of the init() that made the default runtime now in use: what a failed init() falls back to. */
let established: InitRecord | undefined;

/**
 * The default runtime that tensor(), zeros() and the layers use. The first call loads the kernels.
 * Later calls return that same runtime, as tf.ready() does, so every part of a program may call it:
 * init() with no options always, init(options) when the options are the same as the call that made
 * it. init() with other options makes a new runtime and makes it the default (tensors and layers made
 * before stay in the old one, which keeps working). For a runtime beside the default, createRuntime().
 */
export async function init(options?: InitOptions): Promise<Runtime> {
  const opts = checkOptionsObject(options, INIT_KEYS, "init", "options");
  const wanted = { simd: opts.simd ?? "auto", threads: opts.threads ?? 1, wasm: opts.wasm };
  const current = latest;
  if (current) {
    if (Object.keys(opts).length === 0) return current.runtime;
    const same = current.simd === wanted.simd && current.threads === wanted.threads && current.wasm === wanted.wasm;
    // The same options: the same runtime, unless its threads were ended with terminate().
    const existing = defaultRuntimeIfAny();
    if (same && !(existing?.pool?.isTerminated)) return current.runtime;
  }
  const runtime = makeRuntime(options, "init").then((made) => {
    if (latest?.runtime === runtime) {
      setDefaultRuntime(made);
      established = latest;
    }
    return made;
  });
  latest = { ...wanted, runtime };
  // A failed init() leaves the default runtime as it was: init() returns that one again, or, if there
  // is none yet, tries again.
  runtime.catch(() => {
    if (latest?.runtime === runtime) latest = established;
  });
  return runtime;
}

/**
 * A new, independent runtime (its own wasm memory and threads) that does not become the default:
 * pass it to tensor(), zeros() and the layers' `runtime` option. Tensors of two runtimes never mix.
 */
export function createRuntime(options?: InitOptions): Promise<Runtime> {
  return makeRuntime(options, "createRuntime");
}

async function makeRuntime(options: InitOptions | undefined, where: string): Promise<Runtime> {
  const opts = checkOptionsObject(options, INIT_KEYS, where, "options");
  const simd = opts.simd ?? "auto";
  if (simd !== "fixed" && simd !== "auto" && simd !== "relaxed") {
    fail(ErrorCode.INVALID_OPTION, where, "options.simd", '"auto", "fixed" or "relaxed"', describe(simd));
  }
  const relaxedAvailable = hasRelaxedSimd();
  if (simd === "relaxed" && !relaxedAvailable) {
    fail(ErrorCode.INIT, where, "options.simd",
      "an engine with relaxed SIMD (Chromium, Deno, Bun; Node 20 only with --experimental-wasm-relaxed-simd)", "an engine without it");
  }
  const threads = await chooseThreads(opts.threads, where);
  const build = simd === "fixed" || !relaxedAvailable ? "fixed" : "relaxed";
  const source = opts.wasm ?? bundledWasm(build, threads.count > 1);
  let exports: KernelExports;
  let pool: ThreadPool | undefined;
  try {
    const resolved = await resolveSource(source);
    if (threads.count > 1) {
      const module = await compileSource(resolved);
      if (!WebAssembly.Module.imports(module).some((i) => i.kind === "memory")) {
        throw new Error("options.wasm is not a threads build (it does not import a shared memory)");
      }
      // Workers all share one memory.
      const memory = new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: SHARED_MAXIMUM_PAGES, shared: true });
      exports = (await instantiate<Record<string, unknown>>(module, { env: { memory } })).exports as unknown as KernelExports;
      checkKernelExports(exports, GEOMETRY_FIELDS.length * 4);
      // Loaded only here: an app that never asks for threads never loads (or, split by its bundler, ships) the pool.
      const { ThreadPool } = await import("./threads/pool.js");
      pool = await ThreadPool.start(threads.count, module, memory);
    } else {
      exports = (await instantiate<Record<string, unknown>>(resolved, {})).exports as unknown as KernelExports;
    }
  } catch (cause) {
    if (cause instanceof ConvError) throw cause;
    throw new ConvError(ErrorCode.INIT, `${where}: could not load the wasm module: ${(cause as Error)?.message ?? cause}`, {
      argument: "options.wasm", expected: "a valid wasm-conv2d module", received: describe(opts.wasm ?? "the bundled build"), cause,
    });
  }
  try {
    checkKernelExports(exports, GEOMETRY_FIELDS.length * 4);
  } catch (error) {
    pool?.terminate();
    throw error;
  }
  const runtime = new Runtime(exports, pool, threads.note);
  if (opts.wasm !== undefined && simd !== "auto" && runtime.simd !== simd) {
    runtime.terminate();
    fail(ErrorCode.INIT, where, "options.simd", `a module built for "${simd}" SIMD`, `a "${runtime.simd}" build`);
  }
  return runtime;
}

/** How many threads a threads option asks for, here; where "auto" finds none, why. */
async function chooseThreads(value: unknown, where: string): Promise<{ count: number; note?: string }> {
  if (value === undefined || value === 1) return { count: 1 };
  const missing = threadsMissing();
  if (value === "auto") {
    if (missing) return { count: 1, note: missing };
    const cores = await hardwareThreads();
    return cores > 1 ? { count: cores } : { count: 1, note: "this machine has one core" };
  }
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 256) {
    fail(ErrorCode.INVALID_OPTION, where, "options.threads", 'a whole number from 1 to 256 or "auto"', describe(value));
  }
  if (missing) {
    fail(ErrorCode.INIT, where, "options.threads", "an engine with shared memory and workers", `one where ${missing}`);
  }
  return { count: value };
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
