// The cross-runtime reproduction as a Cloudflare Worker (workerd): the probe module arrives compiled, as a module import.

import probeModule from "./runtime-probe.wasm";
import { probe } from "./probe-timing.mjs";

export default {
  async fetch(request) {
    const options = JSON.parse(new URL(request.url).searchParams.get("options") ?? "{}");
    return Response.json(await probe(probeModule, options));
  },
};
