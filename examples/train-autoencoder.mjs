// npm run train:autoencoder: a conv autoencoder (transposed convolutions in its decoder) on the MNIST digits; writes inputs beside reconstructions as a PNG.

import { writeFileSync } from "node:fs";
import { init } from "wasm-conv2d";
import { describeRuntime, parseOptions, text, trainingOptions } from "./mnist/cli.mjs";
import { splitDigits } from "./mnist/data.mjs";
import { loadDigitsNode } from "./mnist/load-node.mjs";
import { AUTOENCODER_DEFAULTS as DEFAULTS, meanImageError, pixelsOf, reconstruct, trainAutoencoder } from "./mnist/autoencoder.mjs";
import { digitGrid, encodeGreyPng } from "./mnist/png.mjs";

const HELP = `Usage: npm run train:autoencoder -- [options]

Trains conv 3×3 stride 2 (16) → conv 3×3 stride 2 (32) → conv 1×1 (4: a 196-number code) →
transposed conv 3×3 (32) → transposed conv 3×3 stride 2 (16) → transposed conv 3×3 stride 2 (1) →
sigmoid with Adam to give back each digit's pixels (mean squared error), on digits of the mnist
package; prints the error on 2,000 held-out digits and writes a picture of 16 of them (top) beside
their reconstructions (below).

Options:
  --epochs N        passes over the training digits (default ${DEFAULTS.epochs})
  --batch-size N    digits per step (default ${DEFAULTS.batchSize})
  --lr X            Adam's learning rate in the first epoch (default ${DEFAULTS.lr})
  --lr-decay X      the learning rate is multiplied by X after every epoch (default ${DEFAULTS.lrDecay})
  --seed N          seeds the weights and the order: same seed, same result (default ${DEFAULTS.seed})
  --train N         how many training digits to use, up to 8000 (default ${DEFAULTS.trainSize})
  --out FILE        where to write the PNG (default autoencoder.png)
  --threads N|auto  threads for the convolutions (default auto: every core); the results are the same bits
  --help            this text`;

const { options, threads } = parseOptions(HELP, [...trainingOptions(DEFAULTS, { shift: false }), text("out", "out", "autoencoder.png")]);

const runtime = await init({ simd: "fixed", threads });
console.log(describeRuntime(runtime));

const data = splitDigits(loadDigitsNode());
console.log(`Training an autoencoder on ${options.trainSize} MNIST digits, testing on ${data.test.count} held out ` +
  `(epochs ${options.epochs}, batch ${options.batchSize}, Adam lr ${options.lr} × ${options.lrDecay}/epoch, seed ${options.seed})`);
let trainingSeconds = 0;
const { model, history } = trainAutoencoder(data, options, {
  onBatch: ({ epoch, batch, batches, loss }) => {
    if (process.stdout.isTTY) process.stdout.write(`\repoch ${String(epoch).padStart(2)}/${options.epochs}  ${batch}/${batches}  loss ${loss.toFixed(5)}`);
  },
  onEpoch: (r) => {
    trainingSeconds += r.seconds;
    if (process.stdout.isTTY) process.stdout.write("\r\x1b[K");
    console.log(`epoch ${String(r.epoch).padStart(2)}/${options.epochs}  loss ${r.loss.toFixed(5)}  test error ${r.testError.toFixed(5)}  ${r.seconds.toFixed(2)} s`);
  },
});
const shown = 16;
const grid = digitGrid([pixelsOf(data.test.images.subarray(0, shown * 784)), reconstruct(model, data.test, shown)], shown);
writeFileSync(options.out, encodeGreyPng(grid.grey, grid.width, grid.height));
model.dispose();
runtime.terminate();

const error = history.at(-1).testError;
console.log(`\ntraining time: ${trainingSeconds.toFixed(1)} s (${(trainingSeconds / options.epochs).toFixed(2)} s per epoch)`);
console.log(`wrote ${options.out}: ${shown} test digits (top) and their reconstructions (below)`);
console.log(`the mean training digit, as a guess for every test digit, scores ${meanImageError(data).toFixed(5)}`);
console.log(`test reconstruction error: ${error.toFixed(5)} mean squared error per pixel (PSNR ${(-10 * Math.log10(error)).toFixed(1)} dB)`);
