// ConvTranspose2d, the layer: its weights, forward and backward against the float64 reference, gradients accumulating, a gradient check, its errors.

import { describe, it, expect, beforeAll } from "vitest";
import {
  init, tensor, scope, ConvTranspose2d, ConvError, ErrorCode, relError, type Runtime, type Tensor,
} from "../../js/index.js";
import { firstMismatch } from "../reference/conv2d.js";
import { referenceConvTranspose2d } from "../reference/conv-transpose2d.js";
import { randomData } from "../helpers/setup.js";

let runtime: Runtime;
beforeAll(async () => {
  runtime = await init();
});

const options = { stride: 2, pad: { top: 1, bottom: 0, left: 1, right: 2 }, outputPadding: [1, 0] as [number, number], groups: 2 };
const config = { N: 2, Cin: 4, H: 5, W: 6, Cout: 6, KH: 3, KW: 3, strideH: 2, strideW: 2, padTop: 1, padBottom: 0, padLeft: 1, padRight: 2,
  outputPadH: 1, outputPadW: 0, dilationH: 1, dilationW: 1, groups: 2 };

describe("ConvTranspose2d", () => {
  it("has a [C_in, C_out / groups, KH, KW] weight, Kaiming-uniform on PyTorch's fan-in for it, and a [C_out] bias", () => {
    const layer = new ConvTranspose2d({ inChannels: 4, outChannels: 6, kernelSize: 3, ...options, seed: 1, runtime });
    expect(layer.weight.shape).toEqual([4, 3, 3, 3]);
    expect(layer.bias!.shape).toEqual([6]);
    const fanIn = 3 * 3 * 3; // (C_out / groups)·KH·KW
    const weights = layer.weight.toFloat32Array();
    expect(Math.max(...weights.map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / fanIn));
    expect(Math.max(...weights.map(Math.abs))).toBeGreaterThan(0.8 * Math.sqrt(6 / fanIn));
    expect(Math.max(...layer.bias!.toFloat32Array().map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(fanIn));
    expect(layer.name).toBe("ConvTranspose2d(4 → 6, 3×3, groups 2)");
    layer.dispose();
  });

  it("forward and backward agree with the reference; dw and db accumulate until zeroGrad", () => {
    const layer = new ConvTranspose2d({ inChannels: 4, outChannels: 6, kernelSize: 3, ...options, seed: 2, runtime });
    const xData = randomData(3, 2 * 4 * 5 * 6);
    const x = tensor(xData, [2, 4, 5, 6]);
    const y = layer.forward(x);
    const wData = layer.weight.toFloat32Array(), bData = layer.bias!.toFloat32Array();
    const dyData = randomData(4, y.size);
    const expected = referenceConvTranspose2d(config, xData, wData, bData, dyData);
    expect(y.shape).toEqual([2, 6, expected.outHeight, expected.outWidth]);
    expect(firstMismatch(y.toFloat32Array(), expected.out)).toBeNull();
    const dy = tensor(dyData, y.shape);
    for (let step = 1; step <= 2; step++) {
      const dx = layer.backward(dy);
      expect(firstMismatch(dx.toFloat32Array(), expected.dx)).toBeNull();
      expect(firstMismatch(layer.weightGrad.toFloat32Array(), expected.dw.map((v) => step * v))).toBeNull();
      expect(firstMismatch(layer.biasGrad!.toFloat32Array(), expected.db.map((v) => step * v))).toBeNull();
      dx.dispose();
    }
    layer.zeroGrad();
    expect(layer.weightGrad.toFloat32Array().every((v) => v === 0)).toBe(true);
    expect(layer.backward(dy, { inputGrad: false })).toBeNull();
    for (const t of [x, y, dy]) t.dispose();
    layer.dispose();
  });

  it("passes a centred-difference gradient check (it is linear in x, w and b: as for gradcheckConv2d, h = 1 leaves only float32 rounding)", () => {
    const layer = new ConvTranspose2d({ inChannels: 2, outChannels: 3, kernelSize: 3, stride: 2, pad: 1, outputPadding: 1, seed: 3, runtime });
    const xData = randomData(5, 1 * 2 * 3 * 3);
    const x = tensor(xData, [1, 2, 3, 3]);
    const y = layer.forward(x);
    const r = randomData(6, y.size);
    // L = Σ r·y; each output difference is taken in float64 before weighting, so unchanged outputs cancel exactly.
    const output = () => scope(() => layer.forward(x).toFloat32Array());
    const numerical = (t: Tensor, data: Float32Array) => Float64Array.from(data, (v, i) => {
      const probe = data.slice();
      probe[i] = v + 1;
      t.write(probe);
      const plus = output();
      probe[i] = v - 1;
      t.write(probe);
      const minus = output();
      t.write(data);
      return plus.reduce((sum, p, j) => sum + (p - minus[j]!) * r[j]!, 0) / 2;
    });
    layer.forward(x);
    const dx = layer.backward(tensor(r, y.shape));
    // GRADCHECK_TOLERANCE's bound (docs/api.md): rounding costs ~1e-5, a wrong gradient O(1).
    expect(relError(dx.toFloat32Array(), numerical(x, xData))).toBeLessThan(1e-2);
    expect(relError(layer.weightGrad.toFloat32Array(), numerical(layer.weight, layer.weight.toFloat32Array()))).toBeLessThan(1e-2);
    expect(relError(layer.biasGrad!.toFloat32Array(), numerical(layer.bias!, layer.bias!.toFloat32Array()))).toBeLessThan(1e-2);
    layer.dispose();
  });

  it("says what it was built for when x does not fit, and rejects bad options at construction", () => {
    const layer = new ConvTranspose2d({ inChannels: 4, outChannels: 2, kernelSize: 3, runtime });
    const three = tensor(new Float32Array(1 * 3 * 5 * 5), [1, 3, 5, 5]);
    let error: unknown;
    try {
      layer.forward(three);
    } catch (e) {
      error = e;
    }
    expect((error as ConvError).code).toBe(ErrorCode.CHANNELS);
    expect((error as Error).message).toBe("ConvTranspose2d.forward: x: expected [N, 4, H, W] (this ConvTranspose2d(4 → 2, 3×3) was built for inChannels = 4), received shape [1, 3, 5, 5]");
    const code = (make: () => unknown) => {
      try {
        make();
        return "none";
      } catch (e) {
        return (e as ConvError).code;
      }
    };
    expect(code(() => new ConvTranspose2d({ inChannels: 4, outChannels: 2, kernelSize: 3, outputPadding: 1, runtime }))).toBe(ErrorCode.PAD);
    expect(code(() => new ConvTranspose2d({ inChannels: 4, outChannels: 2, kernelSize: 3, stride: 2, outputPadding: 2, runtime }))).toBe(ErrorCode.PAD);
    expect(code(() => new ConvTranspose2d({ inChannels: 4, outChannels: 3, kernelSize: 3, groups: 2, runtime }))).toBe(ErrorCode.GROUPS);
    expect(code(() => new ConvTranspose2d({ inChannels: 4, outChannels: 2, kernelSize: 3, pad: "same" as never, runtime }))).toBe(ErrorCode.PAD);
    three.dispose();
    layer.dispose();
  });
});
