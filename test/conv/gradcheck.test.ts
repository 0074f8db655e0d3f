// Numerical gradient checks (centred differences) of dx, dw and db, and a test that the check can fail.

import { describe, it, expect, beforeAll } from "vitest";
import { BUILDS, initBuild } from "../helpers/builds.js";
import {
  conv2dBackward, gradcheckConv2d, relError, GRADCHECK_TOLERANCE, tensor, ConvError, ErrorCode,
  type Conv2dOptions, type Tensor,
} from "../../js/index.js";

const configurations = [
  { name: "stride 2, pad 1", config: { stride: 2, pad: 1 } },
  { name: "stride 3, asymmetric pad", config: { stride: 3, pad: { top: 1, bottom: 0, left: 2, right: 1 }, height: 8, width: 9 } },
  { name: "dilation 2, pad 2", config: { dilation: 2, pad: 2 } },
  { name: "groups 2", config: { groups: 2, inChannels: 4, outChannels: 6 } },
  { name: "stride 2, dilation 2, groups 2, non-square kernel", config: { stride: [2, 1] as [number, number], dilation: 2, groups: 2, inChannels: 4, outChannels: 4, kernelSize: [3, 2] as [number, number], pad: 1, height: 9, width: 8 } },
  { name: "depthwise (groups = C), pad 'same'", config: { groups: 3, inChannels: 3, outChannels: 3, pad: "same" as const } },
  { name: "1×1 pointwise", config: { kernelSize: 1, inChannels: 5, outChannels: 3 } },
];

describe.each(BUILDS)("gradcheckConv2d (%s build)", (build) => {
  beforeAll(async () => {
    await initBuild(build);
  });

  for (const { name, config } of configurations) {
    it(`passes for ${name}`, () => {
      for (const seed of [1, 2, 3]) {
        const result = gradcheckConv2d({ ...config, seed });
        expect(result.dx, `dx, seed ${seed}`).toBeLessThan(GRADCHECK_TOLERANCE);
        expect(result.dw, `dw, seed ${seed}`).toBeLessThan(GRADCHECK_TOLERANCE);
        expect(result.db, `db, seed ${seed}`).toBeLessThan(GRADCHECK_TOLERANCE);
        expect(result.passed).toBe(true);
      }
    });
  }

  // A test of the test: gradients that are wrong in the ways conv backward passes usually go wrong must
  // be caught by the same thresholds.
  const wrong: { name: string; backward: (dy: Tensor, x: Tensor, w: Tensor, o: Conv2dOptions) => ReturnType<typeof conv2dBackward>; field: "dx" | "dw" | "db" }[] = [
    {
      name: "dx computed as if stride were 1",
      field: "dx",
      backward: (dy, x, w, o) => {
        const right = conv2dBackward(dy, x, w, o);
        const data = right.dx!.toFloat32Array();
        // Shift every value one pixel: what a mis-strided scatter does.
        const shifted = new Float32Array(data.length);
        for (let i = 1; i < data.length; i++) shifted[i] = data[i - 1]!;
        return { ...right, dx: tensor(shifted, x.shape) };
      },
    },
    {
      name: "dw with the filter not rotated (kernel taps reversed)",
      field: "dw",
      backward: (dy, x, w, o) => {
        const right = conv2dBackward(dy, x, w, o);
        const data = right.dw!.toFloat32Array();
        const [, , kh, kw] = w.shape as [number, number, number, number];
        const flipped = new Float32Array(data.length);
        for (let base = 0; base < data.length; base += kh * kw) {
          for (let t = 0; t < kh * kw; t++) flipped[base + t] = data[base + kh * kw - 1 - t]!;
        }
        return { ...right, dw: tensor(flipped, w.shape) };
      },
    },
    {
      name: "db missing one image of the batch",
      field: "db",
      backward: (dy, x, w, o) => {
        const right = conv2dBackward(dy, x, w, o);
        const [n, f, h, wd] = dy.shape as [number, number, number, number];
        const dyData = dy.toFloat32Array();
        const db = new Float32Array(f);
        for (let c = 0; c < f; c++) for (let p = 0; p < h * wd; p++) db[c]! += dyData[((n - 1) * f + c) * h * wd + p]!;
        return { ...right, db: tensor(db, [f]) };
      },
    },
  ];

  for (const { name, backward, field } of wrong) {
    it(`fails for a deliberately wrong gradient: ${name}`, () => {
      const result = gradcheckConv2d({ stride: 2, pad: 1, dilation: 2, groups: 1, backward, seed: 5, height: 9, width: 9 });
      expect(result[field]).toBeGreaterThan(GRADCHECK_TOLERANCE);
      expect(result.passed).toBe(false);
    });
  }

  it("rejects a config's groups that do not divide its channels with a groups error naming them", () => {
    let error: unknown;
    try {
      gradcheckConv2d({ groups: 2 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConvError);
    expect((error as ConvError).code).toBe(ErrorCode.GROUPS);
    expect((error as ConvError).argument).toBe("config.groups");
    expect((error as ConvError).message).toMatch(/config\.inChannels = 3 and config\.outChannels = 4/);
  });

  it("relError is cs231n's elementwise maximum", () => {
    expect(relError([1, 2], [1, 2])).toBe(0);
    expect(relError([1, 0], [1, 1e-6])).toBeCloseTo(1, 12);
    expect(relError([0], [1e-9])).toBeCloseTo(0.1, 12); // the 1e-8 floor of the denominator
    expect(relError([3], [1])).toBeCloseTo(0.5, 12);
    expect(relError([0], [0])).toBe(0);
    expect(relError([NaN], [1])).toBeNaN();
  });
});
