// Output shapes and "same"/"valid" padding against values worked out by hand from the published rules.

import { describe, it, expect } from "vitest";
import { conv2dOutputShape } from "../../js/index.js";

describe("output geometry", () => {
  it("follows Ho = ⌊(H + pt + pb − d·(KH − 1) − 1) / s⌋ + 1", () => {
    // PyTorch's nn.Conv2d documentation formula, worked by hand for these shapes.
    expect(conv2dOutputShape([1, 3, 224, 224], [64, 3, 7, 7], { stride: 2, pad: 3 })).toEqual([1, 64, 112, 112]);
    expect(conv2dOutputShape([2, 64, 56, 56], [128, 64, 3, 3], { stride: 2, pad: 1 })).toEqual([2, 128, 28, 28]);
    expect(conv2dOutputShape([1, 64, 28, 28], [64, 64, 3, 3], { pad: 2, dilation: 2 })).toEqual([1, 64, 28, 28]);
    expect(conv2dOutputShape([1, 4, 7, 5], [2, 2, 3, 3], { groups: 2, stride: [2, 1], pad: { top: 1, left: 0, bottom: 1, right: 0 } }))
      .toEqual([1, 2, 4, 3]);
    expect(conv2dOutputShape([1, 1, 10, 10], [1, 1, 3, 3], { stride: 3 })).toEqual([1, 1, 3, 3]);
  });

  it('"same" keeps Ho = ⌈H / stride⌉ with the odd pixel of padding after (TensorFlow\'s rule)', () => {
    expect(conv2dOutputShape([1, 1, 5, 5], [1, 1, 3, 3], { pad: "same" })).toEqual([1, 1, 5, 5]);
    expect(conv2dOutputShape([1, 1, 5, 5], [1, 1, 3, 3], { pad: "same", stride: 2 })).toEqual([1, 1, 3, 3]);
    expect(conv2dOutputShape([1, 1, 6, 7], [1, 1, 4, 2], { pad: "same", stride: [4, 3] })).toEqual([1, 1, 2, 3]);
    // An even kernel needs 3 rows of padding at stride 1 (1 on top, 2 at the bottom); published-cases
    // checks where they go through the values.
    expect(conv2dOutputShape([1, 1, 4, 4], [1, 1, 4, 4], { pad: "same" })).toEqual([1, 1, 4, 4]);
    expect(conv2dOutputShape([1, 1, 9, 9], [1, 1, 3, 3], { pad: "same", dilation: 3 })).toEqual([1, 1, 9, 9]);
  });

  it('"valid" pads nothing', () => {
    expect(conv2dOutputShape([1, 1, 5, 6], [1, 1, 3, 2], { pad: "valid", stride: 2 })).toEqual([1, 1, 2, 3]);
  });
});
