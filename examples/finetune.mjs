// npm run finetune: an ONNX model from elsewhere (PyTorch's LeNet export by default) imported, fine-tuned on the MNIST digits, tested before and after, and saved.

import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { init, saveSafetensors } from "wasm-conv2d";
import { importOnnx, exportOnnx } from "wasm-conv2d/onnx";
import { describeRuntime, parseOptions, printAccuracy, text, trainingOptions } from "./mnist/cli.mjs";
import { splitDigits } from "./mnist/data.mjs";
import { loadDigitsNode } from "./mnist/load-node.mjs";
import { evaluate, trainModel } from "./mnist/trainer.mjs";

const FIXTURE = fileURLToPath(new URL("../test/fixtures/models/lenet.onnx", import.meta.url));
const DEFAULTS = Object.freeze({ epochs: 2, batchSize: 32, lr: 1e-3, lrDecay: 0.5, maxShift: 1, seed: 1, trainSize: 8000 });

const HELP = `Usage: npm run finetune -- [options]

Imports an ONNX model (input [N, 1, 28, 28] digits standardised as the examples do, output [N, 10]
logits), tests it on the 2,000 held-out digits, fine-tunes all its parameters with Adam on the
training digits, and tests it again.

Options:
  --model FILE      the ONNX file (default: PyTorch's LeNet, exported by torch.onnx.export with
                    random weights: test/fixtures/models/lenet.onnx)
  --epochs N        passes over the training digits (default ${DEFAULTS.epochs})
  --batch-size N    digits per step (default ${DEFAULTS.batchSize})
  --lr X            Adam's learning rate in the first epoch (default ${DEFAULTS.lr})
  --lr-decay X      the learning rate is multiplied by X after every epoch (default ${DEFAULTS.lrDecay})
  --shift N         shift training digits by up to N pixels (default ${DEFAULTS.maxShift})
  --seed N          seeds the order and the shifts (default ${DEFAULTS.seed})
  --train N         how many training digits to use, up to 8000 (default ${DEFAULTS.trainSize})
  --save FILE       write the fine-tuned weights as safetensors (the ONNX initializers' names)
  --onnx FILE       write the fine-tuned model as ONNX
  --threads N|auto  threads for the convolutions (default auto); the results are the same bits
  --help            this text`;

const { options, threads } = parseOptions(HELP, [
  ...trainingOptions(DEFAULTS), text("model", "model", FIXTURE), text("save", "save", undefined), text("onnx", "onnx", undefined),
]);

const runtime = await init({ simd: "fixed", threads });
console.log(describeRuntime(runtime));
const model = importOnnx(readFileSync(options.model));
const size = model.parameters().reduce((n, p) => n + p.value.size, 0);
console.log(`imported ${options.model}: ${model.name}, ${model.parameters().length} parameter tensors (${size} values)`);

const data = splitDigits(loadDigitsNode());
console.log(`before fine-tuning: test accuracy ${(100 * evaluate(model, data.test)).toFixed(2)}%`);
console.log(`\nFine-tuning on ${options.trainSize} digits (epochs ${options.epochs}, batch ${options.batchSize}, ` +
  `Adam lr ${options.lr} × ${options.lrDecay}/epoch, shift ±${options.maxShift})`);
model.train();
const history = trainModel(model, data, options, (epoch) => options.lr * options.lrDecay ** (epoch - 1), { forward: 0, backward: 0 }, {
  onEpoch: (r) => console.log(`epoch ${String(r.epoch).padStart(2)}/${options.epochs}  loss ${r.loss.toFixed(4)}  ` +
    `train ${(100 * r.trainAccuracy).toFixed(2)}%  test ${(100 * r.testAccuracy).toFixed(2)}%  ${r.seconds.toFixed(2)} s`),
});
if (options.save) {
  writeFileSync(options.save, saveSafetensors(model));
  console.log(`saved the weights to ${options.save} (safetensors)`);
}
if (options.onnx) {
  writeFileSync(options.onnx, exportOnnx(model, { inputShape: [1, 1, 28, 28] }));
  console.log(`saved the model to ${options.onnx} (ONNX)`);
}
model.dispose();
runtime.terminate();
printAccuracy(history);
