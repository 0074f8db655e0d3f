// What this engine can run: relaxed SIMD, wasm threads with workers, how many cores it has, and which micro-kernel form it runs faster.

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

/** Whether this engine runs the relaxed-SIMD build (asked anew each time: Node can gain it via a V8 flag). */
export function hasRelaxedSimd(): boolean {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
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

/** The cores this machine has, as the platform tells (navigator.hardwareConcurrency or node:os); 1 if it does not. */
export async function hardwareThreads(): Promise<number> {
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

/**
 * The micro-kernel's broadcast form that runs faster on this engine: "shuffle" (one load of A's four
 * values, then lane shuffles) where memory accesses cost extra — Deno and workerd (V8 without its trap
 * handler: an explicit bounds check before every access) and Bun (JavaScriptCore lowers load32_splat
 * through a general register); "load" (four load32_splat) elsewhere, where loads are free and the
 * shuffles would compete for the vector ports. The two give the same bits; bench/RESULTS.md, "Why
 * runtimes differ", has the figures.
 */
export function preferredBroadcast(): "load" | "shuffle" {
  const g = globalThis as { navigator?: { userAgent?: unknown } };
  if ("Deno" in globalThis || "Bun" in globalThis) return "shuffle";
  if (g.navigator?.userAgent === "Cloudflare-Workers") return "shuffle";
  return "load";
}
