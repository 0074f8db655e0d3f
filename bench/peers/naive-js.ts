// Peer adapter: the common baseline, a direct nested-loop convolution in plain JavaScript over Float32Arrays.

import { layerOptions, type BenchLayer } from "../lib/layers.js";
import type { LayerData, Peer, PreparedLayer } from "./peer.js";

interface Geometry {
  N: number; C: number; H: number; W: number; F: number; K: number;
  stride: number; pad: number; dilation: number; groups: number; Ho: number; Wo: number;
}

// What a developer writes first: loops straight from the definition, bounds checked per tap.
function forward(g: Geometry, x: Float32Array, w: Float32Array, b: Float32Array, out: Float32Array): void {
  const Cg = g.C / g.groups, Fg = g.F / g.groups;
  for (let n = 0; n < g.N; n++) for (let f = 0; f < g.F; f++) {
    const group = Math.floor(f / Fg);
    for (let i = 0; i < g.Ho; i++) for (let j = 0; j < g.Wo; j++) {
      let sum = b[f]!;
      for (let c = 0; c < Cg; c++) for (let kh = 0; kh < g.K; kh++) {
        const ih = i * g.stride - g.pad + kh * g.dilation;
        if (ih < 0 || ih >= g.H) continue;
        for (let kw = 0; kw < g.K; kw++) {
          const iw = j * g.stride - g.pad + kw * g.dilation;
          if (iw < 0 || iw >= g.W) continue;
          sum += x[((n * g.C + group * Cg + c) * g.H + ih) * g.W + iw]! * w[((f * Cg + c) * g.K + kh) * g.K + kw]!;
        }
      }
      out[((n * g.F + f) * g.Ho + i) * g.Wo + j] = sum;
    }
  }
}

function backward(g: Geometry, x: Float32Array, w: Float32Array, dy: Float32Array, dx: Float32Array | null, dw: Float32Array | null): void {
  const Cg = g.C / g.groups, Fg = g.F / g.groups;
  dx?.fill(0);
  dw?.fill(0);
  for (let n = 0; n < g.N; n++) for (let f = 0; f < g.F; f++) {
    const group = Math.floor(f / Fg);
    for (let i = 0; i < g.Ho; i++) for (let j = 0; j < g.Wo; j++) {
      const grad = dy[((n * g.F + f) * g.Ho + i) * g.Wo + j]!;
      for (let c = 0; c < Cg; c++) for (let kh = 0; kh < g.K; kh++) {
        const ih = i * g.stride - g.pad + kh * g.dilation;
        if (ih < 0 || ih >= g.H) continue;
        for (let kw = 0; kw < g.K; kw++) {
          const iw = j * g.stride - g.pad + kw * g.dilation;
          if (iw < 0 || iw >= g.W) continue;
          const xi = ((n * g.C + group * Cg + c) * g.H + ih) * g.W + iw;
          const wi = ((f * Cg + c) * g.K + kh) * g.K + kw;
          if (dx) dx[xi]! += grad * w[wi]!;
          if (dw) dw[wi]! += grad * x[xi]!;
        }
      }
    }
  }
}

function biasGrad(g: Geometry, dy: Float32Array, db: Float32Array): void {
  db.fill(0);
  const plane = g.Ho * g.Wo;
  for (let n = 0; n < g.N; n++) for (let f = 0; f < g.F; f++) {
    let s = 0;
    for (let p = 0; p < plane; p++) s += dy[(n * g.F + f) * plane + p]!;
    db[f]! += s;
  }
}

export const naiveJsPeer: Peer = {
  name: "naive JS",
  version: `Node ${process.versions.node}`,
  note: "nested loops over Float32Arrays, bounds checked per tap (the common baseline)",
  async setup(layer: BenchLayer, data: LayerData): Promise<PreparedLayer> {
    const o = layerOptions(layer);
    const g: Geometry = {
      N: layer.N, C: layer.C, H: layer.size, W: layer.size, F: layer.F, K: layer.K, stride: o.stride as number,
      pad: o.pad as number, dilation: o.dilation as number, groups: o.groups!, Ho: data.outHeight, Wo: data.outWidth,
    };
    const out = new Float32Array(data.dy.length);
    const dx = new Float32Array(data.x.length);
    const dw = new Float32Array(data.w.length);
    const db = new Float32Array(layer.F);
    return {
      run: {
        forward: () => forward(g, data.x, data.w, data.b, out),
        dx: () => backward(g, data.x, data.w, data.dy, dx, null),
        dw: () => backward(g, data.x, data.w, data.dy, null, dw),
        db: () => biasGrad(g, data.dy, db),
        step: () => {
          forward(g, data.x, data.w, data.b, out);
          backward(g, data.x, data.w, data.dy, dx, dw);
          biasGrad(g, data.dy, db);
        },
      },
      unsupported: {},
      results: async () => {
        forward(g, data.x, data.w, data.b, out);
        backward(g, data.x, data.w, data.dy, dx, dw);
        return { forward: out.slice(), dx: dx.slice(), dw: dw.slice() };
      },
      dispose: () => {},
    };
  },
};
