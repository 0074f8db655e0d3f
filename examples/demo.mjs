// npm start: gradient checks of conv2d on several configurations, then a short timing of one layer.

import { init, tensor, conv2d, conv2dBackward, gradcheckConv2d, scope, GRADCHECK_TOLERANCE } from "wasm-conv2d";

const runtime = await init();
console.log(`wasm-conv2d: ${runtime.simd} SIMD build, Node ${process.versions.node}\n`);

const configurations = [
  ["stride 1, pad 1", { pad: 1 }],
  ["stride 2, pad 1", { stride: 2, pad: 1 }],
  ["stride 3, asymmetric pad", { stride: 3, pad: { top: 1, bottom: 0, left: 2, right: 1 }, height: 8, width: 9 }],
  ["dilation 2, pad 2", { dilation: 2, pad: 2 }],
  ["groups 2", { groups: 2, inChannels: 4, outChannels: 6, pad: 1 }],
  ["depthwise, pad same", { groups: 3, inChannels: 3, outChannels: 3, pad: "same" }],
  ["stride 2 + dilation 2 + groups 2", { stride: 2, dilation: 2, groups: 2, inChannels: 4, outChannels: 4, pad: 1, height: 9, width: 9 }],
];

console.log(`Gradient check (centred differences; rel_error = max |a−n| / max(1e-8, |a|+|n|), pass < ${GRADCHECK_TOLERANCE})`);
console.log("configuration".padEnd(34) + "dx error".padStart(12) + "dw error".padStart(12) + "db error".padStart(12) + "  result");
let allPassed = true;
for (const [name, config] of configurations) {
  const r = gradcheckConv2d({ ...config, seed: 1 });
  allPassed &&= r.passed;
  console.log(name.padEnd(34) + fmt(r.dx) + fmt(r.dw) + fmt(r.db) + (r.passed ? "  ok" : "  FAILED"));
}

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

function fmt(value) {
  return value.toExponential(2).padStart(12);
}

function random(n) {
  const out = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
