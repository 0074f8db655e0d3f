// npm run demo: gradient checks of conv2d on several configurations, then a short timing of one layer.

import { init, tensor, conv2d, conv2dBackward, scope } from "wasm-conv2d";
import { printGradcheckTable } from "./gradcheck-table.mjs";

const runtime = await init();
console.log(`wasm-conv2d: ${runtime.simd} SIMD build, Node ${process.versions.node}\n`);

const allPassed = printGradcheckTable();

// One mid-sized layer: N=1, C=64, 56×56, F=64, 3×3, stride 1, pad 1 (a ResNet stage-1 conv).
const [N, C, H, W, F, K] = [1, 64, 56, 56, 64, 3];
const flops = 2 * N * F * H * W * C * K * K;
const x = tensor(random(N * C * H * W), [N, C, H, W]);
const w = tensor(random(F * C * K * K), [F, C, K, K]);
const b = tensor(random(F), [F]);
const dy = tensor(random(N * F * H * W), [N, F, H, W]);
const time = (fn) => {
  for (let i = 0; i < 2; i++) scope(fn);
  const samples = [];
  for (let i = 0; i < 7; i++) {
    const start = performance.now();
    scope(fn);
    samples.push(performance.now() - start);
  }
  return samples.sort((p, q) => p - q)[3];
};
const forward = time(() => conv2d(x, w, b, { pad: 1 }));
const backward = time(() => conv2dBackward(dy, x, w, { pad: 1 }));
console.log(`\nTiming, one thread: x [${N}, ${C}, ${H}, ${W}], w [${F}, ${C}, ${K}, ${K}], pad 1 (median of 7)`);
console.log(`  forward            ${forward.toFixed(2).padStart(8)} ms  ${(flops / forward / 1e6).toFixed(1).padStart(6)} GFLOP/s`);
console.log(`  backward dx+dw+db  ${backward.toFixed(2).padStart(8)} ms  ${((2 * flops) / backward / 1e6).toFixed(1).padStart(6)} GFLOP/s`);
if (!allPassed) process.exitCode = 1;

function random(n) {
  const out = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
