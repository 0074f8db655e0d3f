// conv2dOutputShape: the output shape of a convolution, from shapes alone, with the same checks as conv2d.

import { convGeometry, outputShape, type Conv2dOptions } from "./geometry.js";

/** [N, F, Ho, Wo] for input shape [N, C, H, W] and weight shape [F, C / groups, KH, KW]. */
export function conv2dOutputShape(inputShape: readonly number[], weightShape: readonly number[], options?: Conv2dOptions): number[] {
  return outputShape(convGeometry(inputShape, weightShape, options, "conv2dOutputShape"));
}
