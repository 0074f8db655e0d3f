// npm run bench:train: the LeNet of npm start trained by wasm-conv2d and by TensorFlow.js (cpu), same data, batches and optimiser.

// Defaults are small (1 epoch of 1,600 digits) because tfjs's cpu backend needs seconds per training
// step: a full npm start run (10 epochs of 8,000) would keep it busy for hours. Seconds per epoch are
// also given scaled to 8,000 digits (time grows linearly with the number of steps).

import { parseArgs } from "node:util";
import os from "node:os";
import { init } from "wasm-conv2d";
import { splitDigits } from "../examples/mnist/data.mjs";
import { loadDigitsNode } from "../examples/mnist/load-node.mjs";
import { DEFAULTS, train } from "../examples/mnist/lenet.mjs";
import { trainTfjs } from "./lib/tfjs-lenet.mjs";

const { values } = parseArgs({ options: { epochs: { type: "string" }, train: { type: "string" }, only: { type: "string" } } });
const options = { epochs: Number(values.epochs ?? 1), trainSize: Number(values.train ?? 1600) };
if (!(Number.isInteger(options.epochs) && options.epochs > 0 && Number.isInteger(options.trainSize) && options.trainSize > 0 && options.trainSize <= 8000)) {
  console.error("usage: npm run bench:train -- [--epochs N] [--train N ≤ 8000] [--only wasm|tfjs]");
  process.exit(2);
}
const data = splitDigits(loadDigitsNode());
console.log(`LeNet on ${options.trainSize} MNIST digits, tested on ${data.test.count}; epochs ${options.epochs}, batch ${DEFAULTS.batchSize}, ` +
  `Adam lr ${DEFAULTS.lr} × ${DEFAULTS.lrDecay}/epoch, shift ±${DEFAULTS.maxShift}, seed ${DEFAULTS.seed}`);
console.log(`${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, Node ${process.versions.node}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
console.log("Seconds per epoch are the training steps alone (the test-set evaluation is not timed); one thread each.\n");

const rows = [];
if (values.only !== "tfjs") {
  await init({ simd: "fixed" });
  const { model, history } = train(data, options, { onEpoch: (r) => log("wasm-conv2d", r) });
  model.dispose();
  rows.push(summary("wasm-conv2d (SIMD wasm)", history));
}
if (values.only !== "wasm") {
  const history = await trainTfjs(data, options, (r) => log("tfjs cpu", r));
  rows.push(summary("@tensorflow/tfjs 4.22.0, cpu backend", history));
}

const scale = 8000 / options.trainSize;
console.log(`\n| trainer | s per epoch of ${options.trainSize} digits (median) | s per 8,000-digit epoch (scaled) | total training s | final test accuracy |`);
console.log("| --- | --- | --- | --- | --- |");
for (const r of rows) {
  console.log(`| ${r.name} | ${r.median.toFixed(2)} | ${(r.median * scale).toFixed(1)} | ${r.total.toFixed(1)} | ${(100 * r.accuracy).toFixed(2)}% |`);
}
if (rows.length === 2) console.log(`\nwasm-conv2d is ${(rows[1].median / rows[0].median).toFixed(1)}× as fast per epoch (same run, median epochs).`);
console.log(`load average after: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);

function log(name, r) {
  console.log(`${name.padEnd(12)} epoch ${String(r.epoch).padStart(2)}  loss ${r.loss.toFixed(4)}  test ${(100 * r.testAccuracy).toFixed(2)}%  ${r.seconds.toFixed(2)} s`);
}

function summary(name, history) {
  const seconds = history.map((r) => r.seconds).sort((a, b) => a - b);
  return {
    name, median: seconds[Math.floor(seconds.length / 2)], total: seconds.reduce((a, b) => a + b, 0), accuracy: history.at(-1).testAccuracy,
  };
}
