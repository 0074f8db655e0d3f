// npm start: conv2d's gradient-check table, then a LeNet trained on 8,000 real MNIST digits and tested on 2,000 others.

import { parseArgs } from "node:util";
import { init } from "wasm-conv2d";
import { printGradcheckTable } from "./gradcheck-table.mjs";
import { splitDigits } from "./mnist/data.mjs";
import { loadDigitsNode } from "./mnist/load-node.mjs";
import { DEFAULTS, train } from "./mnist/lenet.mjs";

const HELP = `Usage: npm start -- [options]

Checks conv2d's gradients, then trains conv 5×5 (8) → ReLU → max-pool → conv 5×5 (16) → ReLU →
max-pool → linear → softmax with Adam on digits of the mnist package and tests it on 2,000 others.

Options:
  --epochs N        passes over the training digits (default ${DEFAULTS.epochs})
  --batch-size N    digits per step (default ${DEFAULTS.batchSize})
  --lr X            Adam's learning rate in the first epoch (default ${DEFAULTS.lr})
  --lr-decay X      the learning rate is multiplied by X after every epoch (default ${DEFAULTS.lrDecay})
  --shift N         shift training digits by up to N pixels, a new draw every epoch (default ${DEFAULTS.maxShift}; 0 = off)
  --seed N          seeds the weights, the order and the shifts: same seed, same result (default ${DEFAULTS.seed})
  --train N         how many training digits to use, up to 8000 (default ${DEFAULTS.trainSize})
  --threads N|auto  threads for the convolutions (default auto: every core); the results are the same bits
  --help            this text`;

let values;
try {
  ({ values } = parseArgs({
    options: {
      epochs: { type: "string" }, "batch-size": { type: "string" }, lr: { type: "string" }, "lr-decay": { type: "string" },
      shift: { type: "string" }, seed: { type: "string" }, train: { type: "string" }, threads: { type: "string" },
      help: { type: "boolean" },
    },
    strict: true,
  }));
} catch (error) {
  console.error(`${error.message}\n\n${HELP}`);
  process.exit(2);
}
if (values.help) {
  console.log(HELP);
  process.exit(0);
}

const integer = (name, fallback, min, max) => option(name, fallback, (v) => Number.isInteger(v) && v >= min && v <= max, `an integer in [${min}, ${max}]`);
const real = (name, fallback, test, expected) => option(name, fallback, test, expected);
const options = {
  epochs: integer("epochs", DEFAULTS.epochs, 1, 1000),
  batchSize: integer("batch-size", DEFAULTS.batchSize, 1, 8000),
  lr: real("lr", DEFAULTS.lr, (v) => v > 0 && v < 10, "a number in (0, 10)"),
  lrDecay: real("lr-decay", DEFAULTS.lrDecay, (v) => v > 0 && v <= 1, "a number in (0, 1]"),
  maxShift: integer("shift", DEFAULTS.maxShift, 0, 8),
  seed: integer("seed", DEFAULTS.seed, 0, 2 ** 20),
  trainSize: integer("train", DEFAULTS.trainSize, 1, 8000),
};
const threads = values.threads === "auto" ? "auto"
  : option("threads", "auto", (v) => Number.isInteger(v) && v >= 1 && v <= 256, 'an integer in [1, 256] or "auto"');

// The fixed-SIMD build computes the same bits on every engine and machine, so a seed gives the same
// accuracy everywhere (the relaxed build's fused multiply-add may round differently per CPU), and on
// any number of threads: the synchronous calls below take the calling thread and the workers.
const runtime = await init({ simd: "fixed", threads });
console.log(`wasm-conv2d: ${runtime.simd} SIMD build, ${runtime.threads} thread${runtime.threads > 1 ? "s" : ""}` +
  `${runtime.threadsNote ? ` (${runtime.threadsNote})` : ""}, Node ${process.versions.node}\n`);
const gradientsOk = printGradcheckTable();

const data = splitDigits(loadDigitsNode());
console.log(`\nTraining on ${options.trainSize} MNIST digits, testing on ${data.test.count} held out ` +
  `(epochs ${options.epochs}, batch ${options.batchSize}, Adam lr ${options.lr} × ${options.lrDecay}/epoch, shift ±${options.maxShift}, seed ${options.seed})`);

const bar = process.stdout.isTTY ? progressBar : () => {};
let trainingSeconds = 0, forwardSeconds = 0, backwardSeconds = 0, evaluationSeconds = 0;
const { model, history } = train(data, options, {
  onBatch: ({ epoch, batch, batches, loss }) => bar(epoch, options.epochs, batch, batches, loss),
  onEpoch: (r) => {
    trainingSeconds += r.seconds;
    forwardSeconds += r.convForwardSeconds;
    backwardSeconds += r.convBackwardSeconds;
    evaluationSeconds += r.evaluationSeconds;
    if (process.stdout.isTTY) process.stdout.write("\r\x1b[K");
    console.log(`epoch ${String(r.epoch).padStart(2)}/${options.epochs}  loss ${r.loss.toFixed(4)}  ` +
      `train ${percent(r.trainAccuracy)}  test ${percent(r.testAccuracy)}  ${r.seconds.toFixed(2)} s ` +
      `(conv forward ${share(r.convForwardSeconds, r.seconds)}, conv backward ${share(r.convBackwardSeconds, r.seconds)})`);
  },
});
model.dispose();
runtime.terminate();
console.log(`\ntraining time: ${trainingSeconds.toFixed(1)} s (${(trainingSeconds / options.epochs).toFixed(2)} s per epoch; ` +
  `conv forward ${share(forwardSeconds, trainingSeconds)}, conv backward ${share(backwardSeconds, trainingSeconds)} of it), ` +
  `plus ${evaluationSeconds.toFixed(1)} s evaluating on the test digits`);
if (!gradientsOk) process.exitCode = 1;
console.log(`test accuracy: ${percent(history.at(-1).testAccuracy)}`);

function option(name, fallback, test, expected) {
  if (values[name] === undefined) return fallback;
  const value = Number(values[name]);
  if (values[name].trim() === "" || !test(value)) {
    console.error(`--${name}: expected ${expected}, received ${JSON.stringify(values[name])}\n\n${HELP}`);
    process.exit(2);
  }
  return value;
}

function progressBar(epoch, epochs, batch, batches, loss) {
  const width = 30, filled = Math.round((batch / batches) * width);
  process.stdout.write(`\repoch ${String(epoch).padStart(2)}/${epochs} [${"█".repeat(filled)}${"░".repeat(width - filled)}] ` +
    `${String(batch).padStart(String(batches).length)}/${batches}  loss ${loss.toFixed(4)}`);
}

function percent(fraction) {
  return `${(100 * fraction).toFixed(2)}%`;
}

function share(part, whole) {
  return `${Math.round((100 * part) / whole)}%`;
}
