// Bytes of scratch any conv2d direction needs for a geometry: the largest of the three drivers' needs.

import { ConvGeometry } from "../geometry";
import { forwardScratchBytes } from "./forward";
import { backwardInputScratchBytes } from "./backward_input";
import { backwardFilterScratchBytes } from "./backward_filter";

// The API asks here rather than re-deriving it, so the kernels alone decide their working memory.
// In f64: for a geometry too large for wasm32 the product must not wrap, so the API can refuse it.
export function conv2dScratchBytes(geometry: usize): f64 {
  const g = changetype<ConvGeometry>(geometry);
  return max(forwardScratchBytes(g), max(backwardInputScratchBytes(g), backwardFilterScratchBytes(g)));
}
