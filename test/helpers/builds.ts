// The two release builds every correctness test runs on, fixed SIMD (mul + add) and relaxed SIMD (FMA), and the micro-kernel's two broadcast forms.

import { createRuntime, init, type Runtime } from "../../js/index.js";
import { useBroadcast, type Broadcast } from "./broadcast.js";

export { BROADCASTS, useBroadcast, type Broadcast } from "./broadcast.js";

export const BUILDS = ["fixed", "relaxed"] as const;
export type Build = (typeof BUILDS)[number];

/** A runtime of the given build (the relaxed one needs the V8 flag that test/setup-v8.ts sets). */
export function initBuild(build: Build): Promise<Runtime> {
  return init({ simd: build });
}

/** A fresh runtime of the given build on the given broadcast form (not the default: init()'s stays on the engine's form). */
export async function createBuild(build: Build, form: Broadcast): Promise<Runtime> {
  return useBroadcast(await createRuntime({ simd: build }), form);
}
