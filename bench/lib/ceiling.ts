// The wasm SIMD ceiling of this machine, measured in the same run: bench/wasm/ceiling.ts, fixed and relaxed builds.

import { readFile } from "node:fs/promises";
import { measure } from "./timing.js";

const STEPS = 2_000_000;

/** GFLOP/s of independent f32x4 multiply-add chains: mul + add (fixed), and relaxed madd where the engine has it. */
export async function measureCeiling(maxTime: number): Promise<{ fixed: number; relaxed: number | null }> {
  const fixed = await ceilingOf("ceiling-simd.wasm", maxTime);
  let relaxed: number | null = null;
  try {
    relaxed = await ceilingOf("ceiling-relaxed.wasm", maxTime);
  } catch {
    relaxed = null; // this engine has no relaxed SIMD
  }
  return { fixed, relaxed };
}

async function ceilingOf(file: string, maxTime: number): Promise<number> {
  const bytes = await readFile(new URL(`../../build/${file}`, import.meta.url));
  const { instance } = await WebAssembly.instantiate(bytes, { env: { abort() {} } });
  const { ceiling, ceilingFlops } = instance.exports as { ceiling(steps: number, buffer: number): number; ceilingFlops(steps: number): number };
  const timing = await measure(file, () => ceiling(STEPS, 1024), { maxTime, minSamples: 10, slowMs: Infinity, slowSamples: 0 });
  return ceilingFlops(STEPS) / timing.medianMs / 1e6;
}
