// npm start: conv2d's gradient-check table, then a LeNet trained on 8,000 real MNIST digits and tested on 2,000 others.

import { writeFileSync } from "node:fs";
import { init, saveSafetensors } from "wasm-conv2d";
import { exportOnnx } from "wasm-conv2d/onnx";
import { printGradcheckTable } from "./gradcheck-table.mjs";
import { describeRuntime, parseOptions, printAccuracy, text, trainWithReport, trainingOptions } from "./mnist/cli.mjs";
import { splitDigits } from "./mnist/data.mjs";
import { loadDigitsNode } from "./mnist/load-node.mjs";
import { DEFAULTS, leNet, train } from "./mnist/lenet.mjs";

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
  --save FILE       write the trained weights as safetensors, PyTorch's state-dict names
                    (tools/torch/check_state_dict.py loads them into the same PyTorch network)
  --onnx FILE       write the trained network as ONNX (onnxruntime, netron, …), batch axis dynamic
  --help            this text`;

const { options, threads } = parseOptions(HELP, [...trainingOptions(DEFAULTS), text("save", "save", undefined), text("onnx", "onnx", undefined)]);

// The fixed-SIMD build computes the same bits on every engine and machine, so a seed gives the same
// accuracy everywhere (the relaxed build's fused multiply-add may round differently per CPU), and on
// any number of threads: the synchronous calls below take the calling thread and the workers.
const runtime = await init({ simd: "fixed", threads });
console.log(describeRuntime(runtime));
const gradientsOk = printGradcheckTable();

const data = splitDigits(loadDigitsNode());
console.log(`\nTraining on ${options.trainSize} MNIST digits, testing on ${data.test.count} held out ` +
  `(epochs ${options.epochs}, batch ${options.batchSize}, Adam lr ${options.lr} × ${options.lrDecay}/epoch, shift ±${options.maxShift}, seed ${options.seed})`);
const { model, history } = trainWithReport(options.epochs, (callbacks) => train(data, options, callbacks));
if (options.save) {
  writeFileSync(options.save, saveSafetensors(model, { metadata: { format: "pt", producer: "wasm-conv2d" } }));
  console.log(`saved the weights to ${options.save} (safetensors)`);
}
if (options.onnx) {
  // The trained model's layers are wrapped in timers: its state dict goes into a plain LeNet, which is what is exported.
  const plain = leNet(options.seed);
  plain.loadStateDict(model.stateDict());
  writeFileSync(options.onnx, exportOnnx(plain, { inputShape: [1, 1, 28, 28] }));
  plain.dispose();
  console.log(`saved the network to ${options.onnx} (ONNX)`);
}
model.dispose();
runtime.terminate();
if (!gradientsOk) process.exitCode = 1;
printAccuracy(history);
