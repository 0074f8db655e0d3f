// A Cloudflare Worker (workerd) that imports the .wasm and the model fixtures as modules, runs the portable suite and returns one case's results.

import * as api from "../../dist/index.js";
// workerd forbids compiling wasm from bytes: the module arrives compiled, as a Worker import, through
// the package's "./wasm/*" export, as a user's worker would write it (the harness lists it under that name).
import wasm from "wasm-conv2d/wasm/conv2d-simd.wasm";
import * as onnx from "../../dist/onnx/index.js";
// The model fixtures arrive as Data modules (ArrayBuffers), as a worker ships a model file (wrangler's
// rules of type "Data"); the harness lists them under these names.
import lenetOnnx from "test/fixtures/models/lenet.onnx";
import lenetIo from "test/fixtures/models/lenet-io.safetensors";
import { runPortableSuite, readModelFixtures } from "./suite.ts";
import { caseResults, HASH_CASES } from "./hash.ts";

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const seed = Number(url.searchParams.get("seed") ?? 1);
    const data: Record<string, ArrayBuffer> = { "lenet.onnx": lenetOnnx, "lenet-io.safetensors": lenetIo };
    const fixtures = await readModelFixtures(async (name) => data[name]!);
    const report = await runPortableSuite(api, { seed, wasm, models: { onnx, fixtures } });
    // One fixed case's raw out, dx, dw, db, for the test to compare with the float64 reference in Node.
    const caseIndex = Number(url.searchParams.get("case") ?? HASH_CASES.length - 3);
    const results = caseResults(api, await api.init({ simd: "fixed", wasm }), HASH_CASES[caseIndex]!).map((a) => Array.from(a));
    // What init() would meet with bytes here: the smallest valid module, refused by the engine.
    const bytesRefused = await WebAssembly.compile(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])).then(() => "", (e: Error) => e.message);
    return Response.json({ report, caseIndex, results, wasmIsModule: wasm instanceof WebAssembly.Module, bytesRefused });
  },
};
