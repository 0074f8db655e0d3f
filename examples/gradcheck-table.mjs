// The gradient-check table of conv2d (dx, dw, db errors on several configurations), printed by npm start and the demo.

import { gradcheckConv2d, GRADCHECK_TOLERANCE } from "wasm-conv2d";

export const CONFIGURATIONS = [
  ["stride 1, pad 1", { pad: 1 }],
  ["stride 2, pad 1", { stride: 2, pad: 1 }],
  ["stride 3, asymmetric pad", { stride: 3, pad: { top: 1, bottom: 0, left: 2, right: 1 }, height: 8, width: 9 }],
  ["dilation 2, pad 2", { dilation: 2, pad: 2 }],
  ["groups 2", { groups: 2, inChannels: 4, outChannels: 6, pad: 1 }],
  ["depthwise, pad same", { groups: 3, inChannels: 3, outChannels: 3, pad: "same" }],
  ["stride 2 + dilation 2 + groups 2", { stride: 2, dilation: 2, groups: 2, inChannels: 4, outChannels: 4, pad: 1, height: 9, width: 9 }],
];

/** Runs gradcheckConv2d on every configuration, prints one row each; returns whether all passed. */
export function printGradcheckTable(log = console.log) {
  log(`Gradient check (centred differences; rel_error = max |a−n| / max(1e-8, |a|+|n|), pass < ${GRADCHECK_TOLERANCE})`);
  log("configuration".padEnd(34) + "dx error".padStart(12) + "dw error".padStart(12) + "db error".padStart(12) + "  result");
  let allPassed = true;
  for (const [name, config] of CONFIGURATIONS) {
    const r = gradcheckConv2d({ ...config, seed: 1 });
    allPassed &&= r.passed;
    log(name.padEnd(34) + fmt(r.dx) + fmt(r.dw) + fmt(r.db) + (r.passed ? "  ok" : "  FAILED"));
  }
  return allPassed;
}

function fmt(value) {
  return value.toExponential(2).padStart(12);
}
