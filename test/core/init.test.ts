// init(): every way of handing over the module, the errors it gives, and independent instances.

import { describe, it, expect, vi, afterEach } from "vitest";
import { readFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import { init, createRuntime, tensor, conv2d, hasRelaxedSimd, ConvError, ErrorCode } from "../../js/index.js";
import { preferredBroadcast } from "../../js/core/features.js";

const wasmUrl = new URL("../../build/conv2d-simd.wasm", import.meta.url);

async function codeOf(promise: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    if (typeof promise === "function") promise();
    else await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ConvError);
    return (error as ConvError).code;
  }
  return "no error";
}

/** A 2×2 convolution with a known answer, run in the given runtime. */
function works(runtime: Awaited<ReturnType<typeof init>>): void {
  const out = conv2d(tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 1, 3, 3], runtime), tensor([1, 0, 0, -1], [1, 1, 2, 2], runtime), null);
  expect(Array.from(out.toFloat32Array())).toEqual([-4, -4, -4, -4]);
}

describe("the micro-kernel's broadcast form", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("is the load form in Node and the shuffle form in Deno, Bun and workerd (test/runtimes sees the real engines)", () => {
    expect(preferredBroadcast()).toBe("load");
    vi.stubGlobal("Deno", {});
    expect(preferredBroadcast()).toBe("shuffle");
    vi.unstubAllGlobals();
    vi.stubGlobal("Bun", {});
    expect(preferredBroadcast()).toBe("shuffle");
    vi.unstubAllGlobals();
    vi.stubGlobal("navigator", { userAgent: "Cloudflare-Workers" });
    expect(preferredBroadcast()).toBe("shuffle");
    vi.stubGlobal("navigator", { userAgent: "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/156.0.0.0" });
    expect(preferredBroadcast()).toBe("load");
  });

  it("is chosen at init for the engine, and a runtime's switch changes its calls' form, not their bits", async () => {
    const runtime = await createRuntime({ simd: "fixed" });
    const internal = runtime as unknown as { broadcast: string; useBroadcast(form: string): void };
    expect(internal.broadcast).toBe("load");
    const x = [...Array(2 * 8 * 9 * 9)].map((_, i) => Math.sin(i)), w = [...Array(12 * 8 * 9)].map((_, i) => Math.cos(i));
    const run = () => conv2d(tensor(x, [2, 8, 9, 9], runtime), tensor(w, [12, 8, 3, 3], runtime), null, { pad: 1 }).toFloat32Array();
    const load = run();
    internal.useBroadcast("shuffle");
    expect(internal.broadcast).toBe("shuffle");
    expect(new Uint32Array(run().buffer)).toEqual(new Uint32Array(load.buffer));
  });
});

describe("init", () => {
  it("is needed before anything else (a clear error, not a crash)", async () => {
    expect(await codeOf(() => tensor([1], [1]))).toBe(ErrorCode.NOT_INITIALIZED);
  });

  it("picks the relaxed-SIMD build where the engine has it, the fixed one where not, and says which", async () => {
    // test/setup-v8.ts gave this Node relaxed SIMD; a plain Node 20 process lacks it (checked below).
    expect(hasRelaxedSimd()).toBe(true);
    const auto = await init();
    expect(auto.simd).toBe("relaxed");
    works(auto);
    const fixed = await init({ simd: "fixed" });
    expect(fixed.simd).toBe("fixed");
    works(fixed);
    works(await init({ simd: "relaxed" }));
  });

  it("in a Node without relaxed SIMD, auto falls back to fixed and relaxed is refused", () => {
    const script = `
      import { init, hasRelaxedSimd } from ${JSON.stringify(new URL("../../dist/index.js", import.meta.url).href)};
      const auto = await init();
      let refused = "no";
      try { await init({ simd: "relaxed" }); } catch (e) { refused = e.code; }
      console.log(JSON.stringify({ has: hasRelaxedSimd(), auto: auto.simd, refused }));`;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({ has: false, auto: "fixed", refused: ErrorCode.INIT });
  });

  it("checks that a given module matches an explicit simd request", async () => {
    const relaxedBytes = await readFile(new URL("../../build/conv2d-relaxed.wasm", import.meta.url));
    expect((await init({ wasm: relaxedBytes })).simd).toBe("relaxed");
    expect(await codeOf(init({ wasm: relaxedBytes, simd: "fixed" }))).toBe(ErrorCode.INIT);
    expect(await codeOf(init({ wasm: await readFile(wasmUrl), simd: "relaxed" }))).toBe(ErrorCode.INIT);
  });

  it("accepts a WebAssembly.Module (what workerd hands over), bytes, a URL, a path string, a Response", async () => {
    const bytes = await readFile(wasmUrl);
    const module = await WebAssembly.compile(bytes);
    const response = () => new Response(bytes, { headers: { "content-type": "application/wasm" } });
    const sources = [
      module, bytes, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), wasmUrl, wasmUrl.href,
      response(), Promise.resolve(response()), new Response(bytes),
    ];
    for (const wasm of sources) works(await init({ wasm }));
  });

  it("gives ERR_INIT for bytes that are not wasm or not this library's module", async () => {
    expect(await codeOf(init({ wasm: new Uint8Array([1, 2, 3, 4]) }))).toBe(ErrorCode.INIT);
    // The smallest valid module: magic number and version, no exports.
    expect(await codeOf(init({ wasm: new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]) }))).toBe(ErrorCode.INIT);
    expect(await codeOf(init({ wasm: new URL("file:///nonexistent/conv2d.wasm") }))).toBe(ErrorCode.INIT);
    expect(await codeOf(init({ wasm: new Response("not found", { status: 404 }) }))).toBe(ErrorCode.INIT);
  });

  it("every build exports each function and global js/core/kernels.ts types, and ABI_VERSION matches the API's", async () => {
    const source = await readFile(new URL("../../js/core/kernels.ts", import.meta.url), "utf8");
    const body = source.slice(source.indexOf("export interface KernelExports {"), source.indexOf("\n}\n", source.indexOf("export interface KernelExports {")));
    const names = [...body.matchAll(/^  (?:readonly )?(\w+)[(:]/gm)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(40);
    const apiVersion = Number(/const ABI_VERSION = (\d+);/.exec(source)![1]);
    for (const file of ["conv2d-simd", "conv2d-relaxed", "conv2d-simd-threads", "conv2d-relaxed-threads"]) {
      const module = await WebAssembly.compile(await readFile(new URL(`../../build/${file}.wasm`, import.meta.url)));
      const exported = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
      const missing = names.filter((n) => !exported.has(n) && !(n === "memory" && file.endsWith("threads")));
      expect(missing, file).toEqual([]);
      expect(exported.has("ABI_VERSION"), file).toBe(true);
    }
    const contract = await readFile(new URL("../../assembly/contract.ts", import.meta.url), "utf8");
    expect(Number(/export const ABI_VERSION: i32 = (\d+);/.exec(contract)![1])).toBe(apiVersion);
  });

  it("checks its options", async () => {
    expect(await codeOf(init({ wasm: wasmUrl, workers: 2 } as never))).toBe(ErrorCode.UNKNOWN_OPTION);
    // The single-thread build cannot share its memory with workers.
    expect(await codeOf(init({ wasm: wasmUrl, threads: 2 }))).toBe(ErrorCode.INIT);
    expect(await codeOf(init({ simd: "turbo" } as never))).toBe(ErrorCode.INVALID_OPTION);
  });

  it("returns the same runtime again: with no options always, with the same options as the call that made it", async () => {
    const a = await init({ simd: "fixed" });
    expect(await init()).toBe(a);
    expect(await init({ simd: "fixed" })).toBe(a);
    // Concurrent calls share one load.
    const [c, d] = await Promise.all([init({ simd: "relaxed" }), init({ simd: "relaxed" })]);
    expect(c).toBe(d);
    expect(c).not.toBe(a);
    expect(await init()).toBe(c);
    works(a);
    works(c);
  });

  it("with other options makes a new default runtime; layers and tensors made before keep working in theirs", async () => {
    const first = await init({ simd: "fixed" });
    const t = tensor([1, 2, 3], [3]);
    expect(t.runtime).toBe(first);
    const second = await init({ simd: "relaxed" });
    expect(second).not.toBe(first);
    expect(tensor([1], [1]).runtime).toBe(second);
    expect(Array.from(t.toFloat32Array())).toEqual([1, 2, 3]);
    works(first);
  });

  it("createRuntime() makes an independent runtime with its own memory, never the default", async () => {
    const main = await init();
    const a = await createRuntime(), b = await createRuntime();
    const memory = (r: unknown) => (r as { kernels: { memory: WebAssembly.Memory } }).kernels.memory;
    expect(memory(a)).not.toBe(memory(b));
    expect(memory(a)).not.toBe(memory(main));
    expect(tensor([1], [1]).runtime).toBe(main);
    expect(a.id).not.toBe(b.id);
    expect(a.label).toMatch(/^runtime #\d+ \((fixed|relaxed) SIMD, 1 thread\)$/);
    works(a);
    works(b);
  });

  it("tries again after a failed init() instead of returning the failure", async () => {
    expect(await codeOf(init({ wasm: new Uint8Array([1, 2, 3, 4]) }))).toBe(ErrorCode.INIT);
    works(await init({ wasm: await readFile(wasmUrl) }));
  });
});
