// The cross-runtime fingerprint: SHA-256 of out, dx, dw and db (float32 bytes) over a fixed list of seeded configurations, then of every newer layer (layers.ts) and the model files (models.ts).

import type * as Api from "../../dist/index.js";
import { randomCases, caseOptions, randomData, type PortableCase } from "./cases.ts";
import { layerResults } from "./layers.ts";
import { modelResults, sha256Hex, type ModelInputs } from "./models.ts";

/**
 * Fixed, not drawn per run: the same inputs must reach every engine. Random small cases cover every
 * pad form, stride, dilation and group count; the three larger ones take the GEMM's full tiles and the
 * pointwise and depthwise paths.
 */
export const HASH_CASES: readonly PortableCase[] = [
  ...randomCases(20241127, 40),
  { N: 2, C: 16, H: 20, W: 20, F: 24, KH: 3, KW: 3, strideH: 2, strideW: 2, dilationH: 1, dilationW: 1, groups: 1, pad: "same", bias: true, seed: 1 },
  { N: 1, C: 32, H: 14, W: 14, F: 48, KH: 1, KW: 1, strideH: 1, strideW: 1, dilationH: 1, dilationW: 1, groups: 1, pad: 0, bias: true, seed: 2 },
  { N: 2, C: 16, H: 15, W: 13, F: 16, KH: 3, KW: 3, strideH: 1, strideW: 1, dilationH: 2, dilationW: 2, groups: 16, pad: 2, bias: false, seed: 3 },
];

/** out, dx, dw, db of one case as float32 arrays (computed by the given runtime). */
export function caseResults(api: typeof Api, runtime: Api.Runtime, c: PortableCase): Float32Array[] {
  const xShape = [c.N, c.C, c.H, c.W];
  const wShape = [c.F, c.C / c.groups, c.KH, c.KW];
  return api.scope(() => {
    const x = api.tensor(randomData(c.seed, xShape.reduce((a, b) => a * b)), xShape, runtime);
    const w = api.tensor(randomData(c.seed + 1, wShape.reduce((a, b) => a * b)), wShape, runtime);
    const b = c.bias ? api.tensor(randomData(c.seed + 2, c.F), [c.F], runtime) : null;
    const out = api.conv2d(x, w, b, caseOptions(c));
    const dy = api.tensor(randomData(c.seed + 3, out.size), out.shape, runtime);
    const { dx, dw, db } = api.conv2dBackward(dy, x, w, caseOptions(c));
    return [out, dx!, dw!, db!].map((t) => t.toFloat32Array());
  });
}

/**
 * Hex SHA-256 over every case's out, dx, dw, db bytes in order, then the layers', then the model
 * files' (the safetensors and ONNX bytes written, outputs and gradients after loading them).
 */
export async function resultsHash(api: typeof Api, runtime: Api.Runtime, models: ModelInputs): Promise<string> {
  const parts: ArrayBufferView[] = [...HASH_CASES.flatMap((c) => caseResults(api, runtime, c)), ...layerResults(api, runtime), ...(await modelResults(api, models, runtime))];
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    // Typed arrays' bytes are the engine's byte order; every target these runtimes have is little-endian.
    bytes.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
    offset += p.byteLength;
  }
  return sha256Hex(bytes);
}
