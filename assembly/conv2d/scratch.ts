// Bytes of scratch each conv2d direction needs for a geometry: the im2col matrix (K × P floats) or none.

import { ConvGeometry, patchSize, isPointwise } from "../geometry";

// The API asks here rather than re-deriving it, so the kernels alone decide their working memory.
// In f64: for a geometry too large for wasm32 the product must not wrap, so the API can refuse it.
export function conv2dScratchBytes(geometry: usize): f64 {
  const g = changetype<ConvGeometry>(geometry);
  if (isPointwise(g)) return 0;
  return <f64>patchSize(g) * <f64>g.outHeight * <f64>g.outWidth * 4;
}
