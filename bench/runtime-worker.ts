// The portable timing as a Cloudflare Worker (workerd): the .wasm arrives as a compiled module import.

import * as api from "../dist/index.js";
// bench/runtimes.ts hands the worker build/conv2d-simd.wasm under this name.
import wasm from "./conv2d-simd.wasm";
import { timeLayers, type TimingOptions } from "./portable-timing.ts";

export default {
  async fetch(request: Request): Promise<Response> {
    const options = JSON.parse(new URL(request.url).searchParams.get("options") ?? "{}") as TimingOptions;
    return Response.json(await timeLayers(api, { ...options, wasm }));
  },
};
