// Which kernel path each geometry takes (the table of docs/kernels.md, as plan.ts chooses it), and each path's results against the float64 reference.

import { describe, it, expect, beforeAll } from "vitest";
import { readFileSync } from "node:fs";
import { tensor, conv2d, conv2dBackward, type Runtime, type Tensor } from "../../js/index.js";
import { Direction } from "../../js/core/kernels.js";
import { convGeometry, type Conv2dOptions } from "../../js/conv/geometry.js";
import { planBytes } from "../../js/conv/schedule.js";
import { writeGeometry } from "../../js/conv/geometry.js";
import { BUILDS, initBuild } from "../helpers/builds.js";
import { referenceConv2d, firstMismatch, type ReferenceConfig } from "../reference/conv2d.js";
import { randomData } from "../helpers/setup.js";

/** The path numbers, read from plan.ts itself (the test must not restate them). */
const PATHS = Object.fromEntries([...readFileSync(new URL("../../assembly/conv2d/plan.ts", import.meta.url), "utf8")
  .matchAll(/^export const ([A-Z_]+): i32 = (\d+);/gm)].map((m) => [m[1]!, Number(m[2])]));

interface PathCase {
  name: string;
  x: [number, number, number, number];
  w: [number, number, number, number];
  options: Conv2dOptions & { pad?: number | [number, number] };
  /** A weight set to +∞ (the full correlation cannot take it). */
  infiniteWeight?: boolean;
  forward: string;
  dx: string;
  dw: string;
}

const CASES: PathCase[] = [
  { name: "3×3, pad 1", x: [2, 4, 9, 8], w: [6, 4, 3, 3], options: { pad: 1 }, forward: "FORWARD_GEMM", dx: "DX_FULL", dw: "DW_GEMM" },
  { name: "1×1 pointwise", x: [2, 8, 5, 7], w: [5, 8, 1, 1], options: {}, forward: "FORWARD_GEMM", dx: "DX_FULL", dw: "DW_GEMM" },
  { name: "stride 2", x: [1, 3, 11, 10], w: [4, 3, 3, 3], options: { stride: 2, pad: 1 }, forward: "FORWARD_GEMM", dx: "DX_SCATTER", dw: "DW_GEMM" },
  { name: "a pad wider than the kernel", x: [1, 2, 6, 6], w: [3, 2, 3, 3], options: { pad: 3 }, forward: "FORWARD_GEMM", dx: "DX_SCATTER", dw: "DW_GEMM" },
  { name: "an infinite weight at stride 1", x: [1, 2, 6, 6], w: [3, 2, 3, 3], options: { pad: 1 }, infiniteWeight: true, forward: "FORWARD_GEMM", dx: "DX_SCATTER", dw: "DW_GEMM" },
  { name: "grouped, dilated", x: [2, 6, 10, 9], w: [4, 3, 3, 3], options: { groups: 2, dilation: 2, pad: 2 }, forward: "FORWARD_GEMM", dx: "DX_FULL", dw: "DW_GEMM" },
  { name: "depthwise", x: [2, 5, 9, 9], w: [5, 1, 3, 3], options: { groups: 5, pad: 1 }, forward: "FORWARD_DEPTHWISE", dx: "DX_DEPTHWISE_FULL", dw: "DW_DEPTHWISE" },
  { name: "depthwise, multiplier 2", x: [1, 3, 8, 8], w: [6, 1, 3, 3], options: { groups: 3, pad: 1 }, forward: "FORWARD_DEPTHWISE", dx: "DX_DEPTHWISE_FULL", dw: "DW_DEPTHWISE" },
  { name: "depthwise, multiplier 4 (a thin GEMM)", x: [1, 2, 8, 8], w: [8, 1, 3, 3], options: { groups: 2, pad: 1 }, forward: "FORWARD_GEMM", dx: "DX_DEPTHWISE_FULL", dw: "DW_GEMM" },
  { name: "depthwise, stride 2", x: [2, 4, 9, 9], w: [4, 1, 3, 3], options: { groups: 4, stride: 2, pad: 1 }, forward: "FORWARD_DEPTHWISE", dx: "DX_DEPTHWISE_SCATTER", dw: "DW_DEPTHWISE" },
  { name: "3×3 stride 1, 16 channels in and out (auto: Winograd)", x: [1, 16, 8, 9], w: [16, 16, 3, 3], options: { pad: 1 }, forward: "FORWARD_WINOGRAD", dx: "DX_WINOGRAD", dw: "DW_GEMM" },
  { name: "dilation 2, 16 channels (auto: Winograd over phases)", x: [1, 16, 9, 10], w: [16, 16, 3, 3], options: { pad: 2, dilation: 2 }, forward: "FORWARD_WINOGRAD", dx: "DX_WINOGRAD", dw: "DW_GEMM" },
  { name: "the same, the GEMM forced", x: [1, 16, 8, 9], w: [16, 16, 3, 3], options: { pad: 1, algorithm: "gemm" }, forward: "FORWARD_GEMM", dx: "DX_FULL", dw: "DW_GEMM" },
  { name: "Winograd forced on 4 channels", x: [2, 4, 9, 8], w: [6, 4, 3, 3], options: { pad: 1, algorithm: "winograd" }, forward: "FORWARD_WINOGRAD", dx: "DX_WINOGRAD", dw: "DW_GEMM" },
  { name: "Winograd forced, a pad of 3 (dx scatters)", x: [1, 2, 6, 6], w: [3, 2, 3, 3], options: { pad: 3, algorithm: "winograd" }, forward: "FORWARD_WINOGRAD", dx: "DX_SCATTER", dw: "DW_GEMM" },
  { name: "Winograd forced, an infinite weight (the GEMM and the scatter)", x: [1, 2, 6, 6], w: [3, 2, 3, 3], options: { pad: 1, algorithm: "winograd" }, infiniteWeight: true, forward: "FORWARD_GEMM", dx: "DX_SCATTER", dw: "DW_GEMM" },
  { name: "depthwise, an infinite weight", x: [1, 3, 7, 7], w: [3, 1, 3, 3], options: { groups: 3, pad: 1 }, infiniteWeight: true, forward: "FORWARD_DEPTHWISE", dx: "DX_DEPTHWISE_SCATTER", dw: "DW_DEPTHWISE" },
];

function referenceConfig(c: PathCase): ReferenceConfig {
  const pad = c.options.pad ?? 0;
  const [ph, pw] = Array.isArray(pad) ? pad : [pad, pad];
  const pair = (v: number | readonly [number, number] | undefined) => (Array.isArray(v) ? v : [v ?? 1, v ?? 1]) as [number, number];
  const [strideH, strideW] = pair(c.options.stride);
  const [dilationH, dilationW] = pair(c.options.dilation);
  return {
    N: c.x[0], C: c.x[1], H: c.x[2], W: c.x[3], F: c.w[0], KH: c.w[2], KW: c.w[3], strideH, strideW,
    padTop: ph, padBottom: ph, padLeft: pw, padRight: pw, dilationH, dilationW, groups: c.options.groups ?? 1,
  };
}

/** The path conv2dPrepare picks for one direction: the schedule's own plan → prepare, read back with conv2dPath. */
function chosenPath(runtime: Runtime, direction: Direction, x: Tensor, w: Tensor, options: Conv2dOptions): number {
  const geometry = convGeometry(x.shape, w.shape, options, "test");
  const call = { direction, geometry, w: w._address, bias: 0, a: 0, b: 0, out: 0, accumulate: false };
  const { prepared, work } = planBytes(runtime, call);
  const block = runtime.allocator.allocate(prepared + work, "test");
  try {
    runtime.kernels.conv2dPrepare(direction, writeGeometry(runtime, geometry), w._address, 0, block, 0);
    return runtime.kernels.conv2dPath(block);
  } finally {
    runtime.allocator.free(block);
  }
}

describe.each(BUILDS)("the %s build", (build) => {
  let runtime: Runtime;
  beforeAll(async () => {
    runtime = await initBuild(build);
  });

  it("plan.ts names eleven distinct paths", () => {
    expect(Object.keys(PATHS).length).toBe(11);
    expect(new Set(Object.values(PATHS)).size).toBe(11);
  });

  for (const c of CASES) {
    it(`${c.name}: forward ${c.forward}, dx ${c.dx}, dw ${c.dw}, db DB_SUM; each equals the float64 reference`, () => {
      const xData = randomData(1, c.x.reduce((a, b) => a * b)), wData = randomData(2, c.w.reduce((a, b) => a * b));
      if (c.infiniteWeight) wData[1] = Infinity;
      const x = tensor(xData, c.x, runtime), w = tensor(wData, c.w, runtime);
      const names = Object.fromEntries(Object.entries(PATHS).map(([k, v]) => [v, k]));
      const paths = [Direction.FORWARD, Direction.DX, Direction.DW, Direction.DB].map((d) => names[chosenPath(runtime, d, x, w, c.options)]);
      expect(paths).toEqual([c.forward, c.dx, c.dw, "DB_SUM"]);
      const y = conv2d(x, w, null, c.options);
      const dyData = randomData(3, y.size);
      const dy = tensor(dyData, y.shape, runtime);
      const g = conv2dBackward(dy, x, w, c.options);
      const reference = referenceConv2d(referenceConfig(c), xData, wData, null, dyData);
      expect(firstMismatch(y.toFloat32Array(), reference.out), "forward").toBeNull();
      expect(firstMismatch(g.dx.toFloat32Array(), reference.dx), "dx").toBeNull();
      expect(firstMismatch(g.dw.toFloat32Array(), reference.dw), "dw").toBeNull();
      expect(firstMismatch(g.db.toFloat32Array(), reference.db), "db").toBeNull();
      for (const t of [x, w, y, dy, g.dx, g.dw, g.db]) t.dispose();
    });
  }
});
