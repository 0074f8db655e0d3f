// Vitest setup: let Node 20 run the relaxed-SIMD build (Chromium, Deno and Bun need no flag), before any module compiles.

import v8 from "node:v8";

v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
