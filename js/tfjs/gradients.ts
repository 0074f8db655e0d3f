// Gradients of Conv2D and DepthwiseConv2dNative that also take dilations > 1, which tfjs's own refuse: run through the plugin's backprop kernels.

import type { TfjsAttrs, TfjsGradConfig, TfjsNamespace, TfjsTensor } from "./types.js";

const allOne = (value: unknown) => value === undefined || value === null || value === 1 || (Array.isArray(value) && value.every((v) => v === 1));

/**
 * The gradient config registered for kernelName in place of tfjs's `original`. Undilated calls, and
 * calls on a backend the plugin has no kernels for, still take tfjs's own gradient (which still
 * refuses dilations there); a dilated call on a plugin backend runs the plugin's backprop kernels with
 * the forward's dilations among their attributes.
 */
export function dilatedGradient(
  tf: TfjsNamespace, kernelName: "Conv2D" | "DepthwiseConv2dNative", original: TfjsGradConfig, onPluginBackend: () => boolean,
): TfjsGradConfig {
  const [inputKernel, filterKernel] = kernelName === "Conv2D"
    ? ["Conv2DBackpropInput", "Conv2DBackpropFilter"]
    : ["DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"];
  return {
    ...original,
    kernelName,
    inputsToSave: ["x", "filter"],
    gradFunc: (dy: unknown, saved: TfjsTensor[], attrs: TfjsAttrs) => {
      if (allOne(attrs.dilations) || !onPluginBackend()) return original.gradFunc(dy, saved, attrs);
      const [x, filter] = saved as [TfjsTensor, TfjsTensor];
      const common = {
        strides: attrs.strides, pad: attrs.pad, dataFormat: attrs.dataFormat, dimRoundingMode: attrs.dimRoundingMode, dilations: attrs.dilations,
      };
      return {
        x: () => tf.engine().runKernel(inputKernel, { dy, filter }, { ...common, inputShape: x.shape }),
        filter: () => tf.engine().runKernel(filterKernel, { x, dy }, { ...common, filterShape: filter.shape }),
      };
    },
  };
}
