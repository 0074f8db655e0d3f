// The portable timing as a Cloudflare Worker (workerd): the .wasm arrives as a compiled module import.

import * as api from "../../dist/index.js";
// The module arrives compiled, through the package's "./wasm/*" export (bench/runtimes.ts lists it under that name).
import wasm from "wasm-conv2d/wasm/conv2d-simd.wasm";
import { timeLayers, type TimingOptions } from "./portable-timing.ts";

export default {
  async fetch(request: Request): Promise<Response> {
    const options = JSON.parse(new URL(request.url).searchParams.get("options") ?? "{}") as TimingOptions;
    return Response.json(await timeLayers(api, { ...options, wasm }));
  },
};
