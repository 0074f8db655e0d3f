// The portable timing as a Cloudflare Worker (workerd): the .wasm modules arrive as compiled module imports.

import * as api from "../../dist/index.js";
// The modules arrive compiled, through the package's "./wasm/*" export (bench/runtimes.ts lists them under those names).
import wasm from "wasm-conv2d/wasm/conv2d-simd.wasm";
import ceilingFixed from "wasm-conv2d/wasm/ceiling-simd.wasm";
import ceilingRelaxed from "wasm-conv2d/wasm/ceiling-relaxed.wasm";
import { timeLayers, type TimingOptions } from "./portable-timing.ts";

export default {
  async fetch(request: Request): Promise<Response> {
    const options = JSON.parse(new URL(request.url).searchParams.get("options") ?? "{}") as TimingOptions;
    return Response.json(await timeLayers(api, { ...options, wasm, ceiling: { fixed: ceilingFixed, relaxed: ceilingRelaxed } }));
  },
};
