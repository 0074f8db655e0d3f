// Micro-benchmark entry: the packed 4×8 micro-kernel alone, over panels that stay in cache.

import { gemm4x8Packed } from "../../assembly/gemm/gemm_4x8_packed_simd";

// Runs `reps` tiles over one A panel set (panels of 4 rows) and one B panel; returns the FLOPs done.
export function microKernelLoop(K: i32, panelsA: i32, reps: i32, a: usize, b: usize, c: usize): f64 {
  for (let r = 0; r < reps; r++) {
    for (let p = 0; p < panelsA; p++) {
      gemm4x8Packed(K, a + (<usize>p * <usize>K << 4), b, c, 32, 0);
    }
  }
  return <f64>reps * <f64>panelsA * <f64>K * 64;
}
