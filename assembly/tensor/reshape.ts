// dst[i] = src[i] for i < count: a reshape (flatten) moves data without touching its order.

// Bulk memory's copy is the fastest move wasm has; no lane loop can beat it.
export function copyTensor(src: usize, dst: usize, count: i32): void {
  memory.copy(dst, src, <usize>count << 2);
}
