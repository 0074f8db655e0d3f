// The micro-kernel's two broadcast forms (assembly/gemm/gemm_4x8_packed_simd.ts) and the internal switch between them, for tests of js/ and of dist/ alike.

/** The engine picks one form (js/core/features.ts); the tests run both. */
export const BROADCASTS = ["load", "shuffle"] as const;
export type Broadcast = (typeof BROADCASTS)[number];

/** Makes a runtime's later calls use a broadcast form (Runtime.useBroadcast, internal); returns the runtime. */
export function useBroadcast<R>(runtime: R, form: Broadcast): R {
  (runtime as unknown as { useBroadcast(form: Broadcast): void }).useBroadcast(form);
  return runtime;
}
