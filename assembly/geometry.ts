// The convolution geometry as the API writes it into linear memory: one i32 per field, in this order.

// The field order is the contract with js/geometry.ts (GEOMETRY_FIELDS); both sides list it once.
@unmanaged
export class ConvGeometry {
  batch: i32;
  inChannels: i32;
  inHeight: i32;
  inWidth: i32;
  outChannels: i32;
  kernelHeight: i32;
  kernelWidth: i32;
  strideHeight: i32;
  strideWidth: i32;
  padTop: i32;
  padBottom: i32;
  padLeft: i32;
  padRight: i32;
  dilationHeight: i32;
  dilationWidth: i32;
  groups: i32;
  outHeight: i32;
  outWidth: i32;
  /** Conv2dOptions.algorithm: ALGORITHM_AUTO, ALGORITHM_GEMM or ALGORITHM_WINOGRAD. */
  algorithm: i32;
}

/** The algorithm field's values, in js/conv/geometry.ts's ALGORITHMS order. */
export const ALGORITHM_AUTO: i32 = 0;
export const ALGORITHM_GEMM: i32 = 1;
export const ALGORITHM_WINOGRAD: i32 = 2;

// Channels of one group: C / groups.
@inline export function groupInChannels(g: ConvGeometry): i32 {
  return g.inChannels / g.groups;
}

// Filters of one group: F / groups.
@inline export function groupOutChannels(g: ConvGeometry): i32 {
  return g.outChannels / g.groups;
}

// Rows of the im2col matrix of one group: (C / groups) · KH · KW.
@inline export function patchSize(g: ConvGeometry): i32 {
  return groupInChannels(g) * g.kernelHeight * g.kernelWidth;
}

// 1×1 kernels with stride 1 and no padding read the input as the im2col matrix itself.
@inline export function isPointwise(g: ConvGeometry): bool {
  return g.kernelHeight == 1 && g.kernelWidth == 1
    && g.strideHeight == 1 && g.strideWidth == 1
    && g.padTop == 0 && g.padBottom == 0 && g.padLeft == 0 && g.padRight == 0;
}

// One input channel per group (depthwise, any channel multiplier): the direct plane kernels run dx.
@inline export function isDepthwise(g: ConvGeometry): bool {
  return g.inChannels == g.groups;
}

// Forward and dw take the plane kernels only when too few filters share each channel to fill the
// micro-kernel's 4-filter panels; a channel multiplier of 4 or more (one grey-scale input channel
// into 8 filters, say) is a thin but well-shaped GEMM.
@inline export function isThinDepthwise(g: ConvGeometry): bool {
  return g.inChannels == g.groups && g.outChannels < 4 * g.groups;
}
