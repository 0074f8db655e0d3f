// Cases published elsewhere, with their published expected values: cs231n assignment 2 and ONNX's Conv tests.

import { describe, it, expect, beforeAll } from "vitest";
import { tensor, conv2d, relError, type Conv2dOptions } from "../../js/index.js";
import { BUILDS, initBuild } from "../helpers/builds.js";

/** numpy.linspace(start, stop, num), in float64. */
function linspace(start: number, stop: number, num: number): number[] {
  return Array.from({ length: num }, (_, i) => start + ((stop - start) * i) / (num - 1));
}

describe.each(BUILDS)("published cases (%s build)", (build) => {
  beforeAll(async () => {
    await initBuild(build);
  });

  // CS231n (Stanford), assignment 2, ConvolutionalNetworks.ipynb, "Convolution: Naive forward pass":
  // x = linspace(-0.1, 0.5) reshaped (2, 3, 4, 4), w = linspace(-0.2, 0.3) reshaped (3, 3, 4, 4),
  // b = linspace(-0.1, 0.2, 3), stride 2, pad 1; the notebook's hard-coded correct_out, to which it
  // expects a relative error around 2e-8 in float64. In float32 we expect ~1e-7 of the values' scale.
  it("cs231n conv_forward_naive: correct_out", () => {
    const x = tensor(linspace(-0.1, 0.5, 2 * 3 * 4 * 4), [2, 3, 4, 4]);
    const w = tensor(linspace(-0.2, 0.3, 3 * 3 * 4 * 4), [3, 3, 4, 4]);
    const b = tensor(linspace(-0.1, 0.2, 3), [3]);
    const out = conv2d(x, w, b, { stride: 2, pad: 1 });
    const correctOut = [
      -0.08759809, -0.10987781, -0.18387192, -0.2109216,
      0.21027089, 0.21661097, 0.22847626, 0.23004637,
      0.50813986, 0.54309974, 0.64082444, 0.67101435,
      -0.98053589, -1.03143541, -1.19128892, -1.24695841,
      0.69108355, 0.66880383, 0.59480972, 0.56776003,
      2.36270298, 2.36904306, 2.38090835, 2.38247847,
    ];
    expect(out.shape).toEqual([2, 3, 2, 2]);
    expect(relError(out.toFloat32Array(), correctOut)).toBeLessThan(1e-5);
  });

  // ONNX, onnx/backend/test/case/node/conv.py (the Conv operator's backend tests, also in
  // docs/Operators.md): x = 0..24 as (1, 1, 5, 5) or 0..34 as (1, 1, 7, 5), W = ones (1, 1, 3, 3).
  // ONNX pads are [top, left, bottom, right].
  const x5x5 = Array.from({ length: 25 }, (_, i) => i);
  const x7x5 = Array.from({ length: 35 }, (_, i) => i);
  const cases: { name: string; x: number[]; xShape: number[]; options: Conv2dOptions; y: number[][] }[] = [
    {
      name: "test_basic_conv_with_padding", x: x5x5, xShape: [1, 1, 5, 5], options: { pad: 1 },
      y: [[12, 21, 27, 33, 24], [33, 54, 63, 72, 51], [63, 99, 108, 117, 81], [93, 144, 153, 162, 111], [72, 111, 117, 123, 84]],
    },
    {
      name: "test_basic_conv_without_padding", x: x5x5, xShape: [1, 1, 5, 5], options: { pad: 0 },
      y: [[54, 63, 72], [99, 108, 117], [144, 153, 162]],
    },
    {
      name: "test_conv_with_strides_padding", x: x7x5, xShape: [1, 1, 7, 5], options: { pad: 1, stride: 2 },
      y: [[12, 27, 24], [63, 108, 81], [123, 198, 141], [112, 177, 124]],
    },
    {
      name: "test_conv_with_strides_no_padding", x: x7x5, xShape: [1, 1, 7, 5], options: { pad: 0, stride: 2 },
      y: [[54, 72], [144, 162], [234, 252]],
    },
    {
      // pads = [1, 0, 1, 0]: top 1, left 0, bottom 1, right 0.
      name: "test_conv_with_strides_and_asymmetric_padding", x: x7x5, xShape: [1, 1, 7, 5],
      options: { pad: { top: 1, left: 0, bottom: 1, right: 0 }, stride: 2 },
      y: [[21, 33], [99, 117], [189, 207], [171, 183]],
    },
    {
      // auto_pad SAME_LOWER with stride 2 on 5×5: total pad 2 per axis, split 1/1, so "same" agrees.
      name: "test_conv_with_autopad_same", x: x5x5, xShape: [1, 1, 5, 5], options: { pad: "same", stride: 2 },
      y: [[12, 27, 24], [63, 108, 81], [72, 117, 84]],
    },
  ];

  for (const c of cases) {
    it(`ONNX ${c.name}`, () => {
      const out = conv2d(tensor(c.x, c.xShape), tensor(new Array(9).fill(1), [1, 1, 3, 3]), null, c.options);
      expect(out.shape).toEqual([1, 1, c.y.length, c.y[0]!.length]);
      // Small integers: float32 holds every partial sum exactly, so the match is exact.
      expect(Array.from(out.toFloat32Array())).toEqual(c.y.flat());
    });
  }

  // TensorFlow's SAME rule puts the odd pixel of padding after: an even 4×4 all-ones kernel over a 4×4
  // image of ones pads 1 row above and 2 below (likewise columns), so each output counts the real
  // pixels its window covers. Worked by hand from tf.nn.conv2d's documented padding rule.
  it("TensorFlow SAME with an even kernel: the odd pixel goes to the bottom/right", () => {
    const out = conv2d(tensor(new Array(16).fill(1), [1, 1, 4, 4]), tensor(new Array(16).fill(1), [1, 1, 4, 4]), null, { pad: "same" });
    // Rows covered per output row: [3, 4, 3, 2] (window rows −1..2, 0..3, 1..4, 2..5 clipped to 0..3).
    const covered = [3, 4, 3, 2];
    expect(Array.from(out.toFloat32Array())).toEqual(covered.flatMap((r) => covered.map((c) => r * c)));
  });
});
