// out[i] = a[i] + b[i] for i < count: two tensors of one shape summed (a residual block's paths, and their gradients).

import { addFloats, copyFloats } from "../floats";

// out may be a or b (in place).
export function addTensors(a: usize, b: usize, out: usize, count: i32): void {
  if (out != a) copyFloats(out, a, count);
  addFloats(out, b, count);
}
