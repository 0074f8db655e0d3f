// Σ_n [argmax_k z[n,k] = y_n]: how many rows predict their label (the first maximum wins ties, as torch.argmax).

import { rowMax } from "./softmax_cross_entropy";

// The maximum comes from the vector scan; finding where it first occurs is a short scalar scan. A row
// holding NaN has a NaN maximum that equals nothing, so it never counts as correct.
export function countCorrect(logits: usize, labels: usize, batch: i32, classes: i32): i32 {
  const rowBytes = <usize>classes << 2;
  let correct = 0;
  for (let n = 0; n < batch; n++) {
    const row = logits + <usize>n * rowBytes;
    const m = rowMax(row, classes);
    let first = -1;
    for (let k = 0; k < classes; k++) {
      if (load<f32>(row + (<usize>k << 2)) == m) { first = k; break; }
    }
    if (first == load<i32>(labels + (<usize>n << 2))) correct++;
  }
  return correct;
}
