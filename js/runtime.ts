// init(): loads and instantiates the kernel module (bytes | Module | URL | Response), one Runtime per call.

import { instantiate } from "@assemblyscript/loader";
import { ConvError, ErrorCode, describe } from "./errors.js";
import { Allocator, type MemoryUsage } from "./memory.js";
import { GEOMETRY_FIELDS, checkOptionsObject, type ConvGeometry } from "./geometry.js";
import { REQUIRED_EXPORTS, type KernelExports } from "./kernels.js";

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
   * "fixed" (default): the plain SIMD build, whose results are bit-identical on every engine.
   * "auto" picks the fastest build this engine runs; "relaxed" insists on the relaxed-SIMD (FMA) build.
   */
  simd?: "auto" | "fixed" | "relaxed";
}

const INIT_KEYS = ["wasm", "simd"];

/** One instantiated module with its memory, allocator and geometry slot. Tensors belong to exactly one. */
export class Runtime {
  readonly kernels: KernelExports;
  readonly allocator: Allocator;
  /** Which arithmetic the loaded build uses: "fixed" (mul then add) or "relaxed" (fused multiply-add). */
  readonly simd: "fixed" | "relaxed";
  private readonly geometryAddress: number;

  constructor(kernels: KernelExports) {
    this.kernels = kernels;
    this.allocator = new Allocator(kernels.memory, kernels.heapBase());
    this.simd = kernels.usesRelaxedSimd() ? "relaxed" : "fixed";
    this.geometryAddress = this.allocator.allocate(GEOMETRY_FIELDS.length * 4);
  }

  /** Writes the geometry where the kernels read it and returns its address. */
  geometry(g: ConvGeometry): number {
    const view = new Int32Array(this.kernels.memory.buffer, this.geometryAddress, GEOMETRY_FIELDS.length);
    for (let i = 0; i < GEOMETRY_FIELDS.length; i++) view[i] = g[GEOMETRY_FIELDS[i]!];
    return this.geometryAddress;
  }

  /** Bytes in use by tensors (the geometry slot excluded), scratch and the wasm memory size. */
  memoryUsage(): MemoryUsage {
    const usage = this.allocator.usage();
    const slot = Math.ceil((GEOMETRY_FIELDS.length * 4) / 64) * 64;
    return { ...usage, bytesInUse: usage.bytesInUse - slot, peakBytesInUse: usage.peakBytesInUse - slot };
  }
}

let defaultRuntime: Runtime | undefined;

/** Loads the kernels; the new Runtime becomes the default that tensor() and friends use. */
export async function init(options?: InitOptions): Promise<Runtime> {
  const opts = checkOptionsObject(options, INIT_KEYS, "init", "options");
  const simd = opts.simd ?? "fixed";
  if (simd !== "fixed" && simd !== "auto" && simd !== "relaxed") {
    throw new ConvError(ErrorCode.INVALID_OPTION, `init: options.simd: expected "auto", "fixed" or "relaxed", received ${describe(simd)}`, {
      argument: "options.simd", expected: '"auto", "fixed" or "relaxed"', received: describe(simd),
    });
  }
  if (simd === "relaxed" && opts.wasm === undefined) {
    throw new ConvError(ErrorCode.INIT, "init: options.simd: the relaxed-SIMD build is not part of this version", {
      argument: "options.simd", expected: '"fixed" or "auto"', received: '"relaxed"',
    });
  }
  const source = opts.wasm ?? bundledWasm();
  let exports: KernelExports;
  try {
    const result = await instantiate<Record<string, unknown>>(await resolveSource(source), {});
    exports = result.exports as unknown as KernelExports;
  } catch (cause) {
    throw new ConvError(ErrorCode.INIT, `init: could not load the wasm module: ${(cause as Error)?.message ?? cause}`, {
      argument: "options.wasm", expected: "a valid wasm-conv2d module", received: describe(opts.wasm ?? "the bundled build"), cause,
    });
  }
  for (const name of REQUIRED_EXPORTS) {
    if (!(name in exports)) {
      throw new ConvError(ErrorCode.INIT, `init: the wasm module does not export "${name}": not a wasm-conv2d build`, {
        argument: "options.wasm", expected: "a wasm-conv2d module", received: `a module without "${name}"`,
      });
    }
  }
  const runtime = new Runtime(exports);
  defaultRuntime = runtime;
  return runtime;
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

// A literal URL beside this module: bundlers (Vite, webpack, esbuild) see it and ship the file.
function bundledWasm(): URL {
  return new URL("../build/conv2d-simd.wasm", import.meta.url);
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
