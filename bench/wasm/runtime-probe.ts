// The cross-runtime reproduction's module (bench/runtime-probe.ts): the 4×8 micro-kernel over L1-resident panels, in its two broadcast forms, beside the ceiling.

import { gemm4x8PackedShuffle } from "../../assembly/gemm/gemm_4x8_packed_simd";
export { microKernelLoop } from "./micro-kernel";
export { probeLoads8, probeFlops, PROBE_BUFFER_BYTES } from "./ceiling";

// The kernel's shuffle form itself (assembly/gemm/gemm_4x8_packed_simd.ts), which the API runs in
// Deno, Bun and workerd: A's four values in one v128 load, broadcast by lane shuffles, 3 memory
// accesses per k step instead of 6. bench/RESULTS.md, "Why runtimes differ", has the figures.

/** microKernelLoop (bench/wasm/micro-kernel.ts) with the shuffle form; returns the FLOPs done. */
export function microKernelShuffleLoop(K: i32, panelsA: i32, reps: i32, a: usize, b: usize, c: usize): f64 {
  for (let r = 0; r < reps; r++) {
    for (let p = 0; p < panelsA; p++) {
      gemm4x8PackedShuffle(K, a + (<usize>p * <usize>K << 4), b, c, 32, 0);
    }
  }
  return <f64>reps * <f64>panelsA * <f64>K * 64;
}
