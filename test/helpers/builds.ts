// The two release builds every correctness test runs on: fixed SIMD (mul + add) and relaxed SIMD (FMA).

import { init, type Runtime } from "../../js/index.js";

export const BUILDS = ["fixed", "relaxed"] as const;
export type Build = (typeof BUILDS)[number];

/** A runtime of the given build (the relaxed one needs the V8 flag that test/setup-v8.ts sets). */
export function initBuild(build: Build): Promise<Runtime> {
  return init({ simd: build });
}
