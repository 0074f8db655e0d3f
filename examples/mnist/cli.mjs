// What the training programs share on the command line: checked options, the progress bar, the epoch and summary lines.

import { parseArgs } from "node:util";

/** An integer option: --flag N in [min, max]. */
export const integer = (flag, key, fallback, min, max) =>
  ({ flag, key, fallback, test: (v) => Number.isInteger(v) && v >= min && v <= max, expected: `an integer in [${min}, ${max}]` });

/** A real option: --flag X passing test, described as expected. */
export const real = (flag, key, fallback, test, expected) => ({ flag, key, fallback, test, expected });

/** A text option: --flag TEXT, not empty. */
export const text = (flag, key, fallback) => ({ flag, key, fallback, text: true, expected: "a non-empty text" });

/**
 * The options every trainer takes, from its defaults: --epochs, --batch-size, --lr, --lr-decay (where
 * defaults has lrDecay), --shift (where it has maxShift and shift is not false), --seed and --train.
 */
export function trainingOptions(defaults, { shift = true } = {}) {
  return [
    integer("epochs", "epochs", defaults.epochs, 1, 1000),
    integer("batch-size", "batchSize", defaults.batchSize, 1, 8000),
    real("lr", "lr", defaults.lr, (v) => v > 0 && v < 10, "a number in (0, 10)"),
    ...(defaults.lrDecay !== undefined ? [real("lr-decay", "lrDecay", defaults.lrDecay, (v) => v > 0 && v <= 1, "a number in (0, 1]")] : []),
    ...(shift ? [integer("shift", "maxShift", defaults.maxShift, 0, 8)] : []),
    integer("seed", "seed", defaults.seed, 0, 2 ** 20),
    integer("train", "trainSize", defaults.trainSize, 1, 8000),
  ];
}

/**
 * Parses process.argv against specs (plus --threads N|auto and --help). Prints help and exits 0 on
 * --help; prints what was wrong and the help and exits 2 on an unknown flag or a bad value. Returns
 * { options: { [key]: value }, threads }.
 */
export function parseOptions(help, specs) {
  let values;
  try {
    ({ values } = parseArgs({
      options: Object.fromEntries([...specs.map((s) => [s.flag, { type: "string" }]), ["threads", { type: "string" }], ["help", { type: "boolean" }]]),
      strict: true,
    }));
  } catch (error) {
    console.error(`${error.message}\n\n${help}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(help);
    process.exit(0);
  }
  const read = ({ flag, fallback, test, expected, text }) => {
    if (values[flag] === undefined) return fallback;
    const value = text ? values[flag] : Number(values[flag]);
    if (values[flag].trim() === "" || (!text && !test(value))) {
      console.error(`--${flag}: expected ${expected}, received ${JSON.stringify(values[flag])}\n\n${help}`);
      process.exit(2);
    }
    return value;
  };
  const options = Object.fromEntries(specs.map((s) => [s.key, read(s)]));
  const threads = values.threads === "auto" ? "auto"
    : read({ flag: "threads", fallback: "auto", test: (v) => Number.isInteger(v) && v >= 1 && v <= 256, expected: 'an integer in [1, 256] or "auto"' });
  return { options, threads };
}

/** The first line of every run: build, threads, engine. */
export function describeRuntime(runtime) {
  return `wasm-conv2d: ${runtime.simd} SIMD build, ${runtime.threads} thread${runtime.threads > 1 ? "s" : ""}` +
    `${runtime.threadsNote ? ` (${runtime.threadsNote})` : ""}, Node ${process.versions.node}\n`;
}

/**
 * Runs train(callbacks) (lenet.mjs's train or resnet.mjs's trainResNet, bound to its data and
 * options) with a progress bar on a terminal and a line per epoch, then prints the summary lines:
 * "training time: … (X s per epoch; …)" (the training steps alone, as trainer.mjs times them) and,
 * last, "test accuracy: NN.NN%". Returns train's result.
 */
export function trainWithReport(epochs, train) {
  const bar = process.stdout.isTTY ? progressBar : () => {};
  let trainingSeconds = 0, forwardSeconds = 0, backwardSeconds = 0, dataSeconds = 0, evaluationSeconds = 0;
  const result = train({
    onBatch: ({ epoch, batch, batches, loss }) => bar(epoch, epochs, batch, batches, loss),
    onEpoch: (r) => {
      trainingSeconds += r.seconds;
      forwardSeconds += r.convForwardSeconds;
      backwardSeconds += r.convBackwardSeconds;
      dataSeconds += r.dataSeconds ?? 0;
      evaluationSeconds += r.evaluationSeconds;
      if (process.stdout.isTTY) process.stdout.write("\r\x1b[K");
      console.log(`epoch ${String(r.epoch).padStart(2)}/${epochs}  loss ${r.loss.toFixed(4)}  ` +
        `train ${percent(r.trainAccuracy)}  test ${percent(r.testAccuracy)}  ${r.seconds.toFixed(2)} s ` +
        `(conv forward ${share(r.convForwardSeconds, r.seconds)}, conv backward ${share(r.convBackwardSeconds, r.seconds)})`);
    },
  });
  console.log(`\ntraining time: ${trainingSeconds.toFixed(1)} s (${(trainingSeconds / epochs).toFixed(2)} s per epoch; ` +
    `conv forward ${share(forwardSeconds, trainingSeconds)}, conv backward ${share(backwardSeconds, trainingSeconds)} of it), ` +
    `plus ${dataSeconds.toFixed(1)} s drawing the batches and ${evaluationSeconds.toFixed(1)} s evaluating on the test digits`);
  return result;
}

/** The closing line the tests and users read. */
export function printAccuracy(history) {
  console.log(`test accuracy: ${percent(history.at(-1).testAccuracy)}`);
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
