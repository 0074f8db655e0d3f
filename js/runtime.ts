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
   * Which arithmetic to run. "auto" (default): the relaxed-SIMD build (fused multiply-add) where the
   * engine has relaxed SIMD, else the fixed one. "fixed": the plain SIMD build, separate multiply and
   * add, bit-identical on every engine. "relaxed": insist on FMA; ERR_INIT where the engine lacks it.
   * With `wasm` given, the module's own build must match a "fixed" or "relaxed" request.
   */
  simd?: "auto" | "fixed" | "relaxed";
}

const INIT_KEYS = ["wasm", "simd"];
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

  constructor(kernels: KernelExports) {
    this.kernels = kernels;
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
    throw new ConvError(ErrorCode.INVALID_OPTION, `init: options.simd: expected "auto", "fixed" or "relaxed", received ${describe(simd)}`, {
      argument: "options.simd", expected: '"auto", "fixed" or "relaxed"', received: describe(simd),
    });
  }
  const relaxedAvailable = hasRelaxedSimd();
  if (simd === "relaxed" && !relaxedAvailable) {
    throw new ConvError(ErrorCode.INIT,
      "init: options.simd: expected an engine with relaxed SIMD (Chromium, Deno, Bun; Node 20 only with --experimental-wasm-relaxed-simd), received an engine without it",
      { argument: "options.simd", expected: "an engine with relaxed SIMD", received: "an engine without it" });
  }
  const source = opts.wasm ?? (simd === "fixed" || !relaxedAvailable ? bundledWasm("fixed") : bundledWasm("relaxed"));
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
  if (opts.wasm !== undefined && simd !== "auto" && runtime.simd !== simd) {
    throw new ConvError(ErrorCode.INIT, `init: options.simd: expected a module built for "${simd}" SIMD, received a "${runtime.simd}" build`, {
      argument: "options.simd", expected: `a "${simd}" build`, received: `a "${runtime.simd}" build`,
    });
  }
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

// Literal URLs beside this module: bundlers (Vite, webpack, esbuild) see them and ship the files.
function bundledWasm(build: "fixed" | "relaxed"): URL {
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
