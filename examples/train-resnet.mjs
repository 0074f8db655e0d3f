// npm run train:resnet: a small ResNet (batch norm, residual blocks, global average pooling) trained on the same 8,000 MNIST digits as npm start.

import { init } from "wasm-conv2d";
import { describeRuntime, parseOptions, printAccuracy, trainWithReport, trainingOptions } from "./mnist/cli.mjs";
import { splitDigits } from "./mnist/data.mjs";
import { loadDigitsNode } from "./mnist/load-node.mjs";
import { RESNET_DEFAULTS as DEFAULTS, trainResNet } from "./mnist/resnet.mjs";

const HELP = `Usage: npm run train:resnet -- [options]

Trains conv 3×3 (16) → batch norm → ReLU → residual blocks 16 → 16, 16 → 32 (stride 2, 1×1
shortcut), 32 → 64 (stride 2) → global average pooling → linear (78 k parameters) with Adam and a
cosine-decayed learning rate on digits of the mnist package, and tests it on 2,000 others.

Options:
  --epochs N        passes over the training digits (default ${DEFAULTS.epochs})
  --batch-size N    digits per step (default ${DEFAULTS.batchSize})
  --lr X            Adam's first learning rate, decayed by a cosine to 0 over the run (default ${DEFAULTS.lr})
  --shift N         shift training digits by up to N pixels, a new draw every epoch (default ${DEFAULTS.maxShift}; 0 = off)
  --seed N          seeds the weights, the order and the shifts: same seed, same result (default ${DEFAULTS.seed})
  --train N         how many training digits to use, up to 8000 (default ${DEFAULTS.trainSize})
  --threads N|auto  threads for the convolutions (default auto: every core); the results are the same bits
  --help            this text`;

const { options, threads } = parseOptions(HELP, trainingOptions(DEFAULTS));

// The fixed build: the same bits on every engine and on any number of threads (see train-mnist.mjs).
const runtime = await init({ simd: "fixed", threads });
console.log(describeRuntime(runtime));

const data = splitDigits(loadDigitsNode());
console.log(`Training a ResNet on ${options.trainSize} MNIST digits, testing on ${data.test.count} held out ` +
  `(epochs ${options.epochs}, batch ${options.batchSize}, Adam lr ${options.lr} with cosine decay, shift ±${options.maxShift}, seed ${options.seed})`);
const { model, history } = trainWithReport(options.epochs, (callbacks) => trainResNet(data, options, callbacks));
const parameters = model.parameters().reduce((sum, p) => sum + p.value.size, 0);
model.dispose();
runtime.terminate();
console.log(`${parameters.toLocaleString("en-US")} parameters`);
printAccuracy(history);
