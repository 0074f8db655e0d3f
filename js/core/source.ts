// A module's source as a user hands it over (a Module, bytes, a URL, a Response, a promise of one) turned into something to instantiate.

/** Anything init() can load the module from. */
export type WasmSource =
  | WebAssembly.Module
  | ArrayBuffer
  | ArrayBufferView
  | URL
  | string
  | Response
  | PromiseLike<Response | WebAssembly.Module | ArrayBuffer | ArrayBufferView>;

/** A compiled Module, bytes, or a Response of application/wasm (which can be compiled while it streams). */
export async function resolveSource(source: WasmSource): Promise<WebAssembly.Module | BufferSource | Response> {
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

/** The compiled Module of a resolved source (workers need a Module: it is what crosses to them). */
export async function compileSource(resolved: WebAssembly.Module | BufferSource | Response): Promise<WebAssembly.Module> {
  if (resolved instanceof WebAssembly.Module) return resolved;
  return WebAssembly.compile(typeof Response !== "undefined" && resolved instanceof Response ? await resolved.arrayBuffer() : resolved as BufferSource);
}

// node:fs through a computed specifier: only file: URLs (Node, Deno, Bun) reach it, and browser bundlers
// must not try to resolve it.
async function readFile(url: URL): Promise<Uint8Array> {
  const specifier = "node:fs/promises";
  const fs = (await import(/* @vite-ignore */ specifier)) as { readFile(path: URL): Promise<Uint8Array> };
  return fs.readFile(url);
}
