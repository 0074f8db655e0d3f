// One timed training run of npm start's LeNet for bench/main-job.mjs, in a process of its own: prints its per-epoch history as one JSON line.

// node bench/lib/train-lenet-child.mjs --threads N --epochs E
// The same build (fixed SIMD), data, network and trainer as npm start (examples/train-mnist.mjs), less
// its gradient-check table: examples/mnist/lenet.mjs's train with npm start's defaults but the epochs.
// Each record's `seconds` covers the training steps alone (examples/mnist/trainer.mjs), as the
// PyTorch anchor's figure does; the data drawing and the test pass are timed apart.
import { parseArgs } from "node:util";
import { init } from "wasm-conv2d";
import { splitDigits } from "../../examples/mnist/data.mjs";
import { loadDigitsNode } from "../../examples/mnist/load-node.mjs";
import { train } from "../../examples/mnist/lenet.mjs";

const { values } = parseArgs({ options: { threads: { type: "string", default: "1" }, epochs: { type: "string", default: "3" } } });
const threads = Number(values.threads), epochs = Number(values.epochs);
if (!Number.isInteger(threads) || threads < 1 || !Number.isInteger(epochs) || epochs < 1) {
  console.error("usage: node bench/lib/train-lenet-child.mjs --threads N --epochs E");
  process.exit(2);
}
const runtime = await init({ simd: "fixed", threads });
const data = splitDigits(loadDigitsNode());
const { model, history } = train(data, { epochs });
model.dispose();
runtime.terminate();
console.log(JSON.stringify({ simd: runtime.simd, threads: runtime.threads, history }));
