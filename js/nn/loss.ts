// The losses, each with its gradient: softmaxCrossEntropy (integer labels), mseLoss; and countCorrect (argmax hits).

import { ErrorCode, describe, fail } from "../core/errors.js";
import { booleanOption, checkOptionsObject, requireRank } from "../core/checks.js";
import type { Runtime } from "../core/runtime.js";
import { Tensor, allocateTensor, runKernel, runtimeOf, tensorAddress } from "../core/tensor.js";
import { sameShape, shapeText } from "../core/shape.js";

/** Class indices, one per row of the logits: integers in [0, classes). */
export type Labels = Int32Array | Uint8Array | Uint16Array | Uint32Array | Int8Array | Int16Array | readonly number[];

/** softmaxCrossEntropy's answer; G is the gradient's type (Tensor when it was asked for, as by default). */
export interface SoftmaxCrossEntropyResult<G extends Tensor | null = Tensor | null> {
  /** (1/N) Σ_n −log softmax(logits[n])[labels[n]], in float64 from float32 terms. */
  loss: number;
  /** dL/dlogits = (softmax − one-hot) / N, [N, classes]; null with { grad: false }. */
  grad: G;
}

/**
 * The mean cross-entropy of softmax(logits) against integer labels (torch.nn.functional.cross_entropy
 * with reduction "mean"), computed stably (each row shifted by its maximum), and its gradient.
 * logits is [N, classes]; labels has N integers in [0, classes).
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Labels, options: { grad: false }): SoftmaxCrossEntropyResult<null>;
export function softmaxCrossEntropy(logits: Tensor, labels: Labels, options?: { grad?: true }): SoftmaxCrossEntropyResult<Tensor>;
export function softmaxCrossEntropy(logits: Tensor, labels: Labels, options?: { grad?: boolean }): SoftmaxCrossEntropyResult;
export function softmaxCrossEntropy(logits: Tensor, labels: Labels, options?: { grad?: boolean }): SoftmaxCrossEntropyResult {
  const where = "softmaxCrossEntropy";
  const runtime = runtimeOf(logits, where, "logits");
  const logitsAddress = tensorAddress(logits, runtime, where, "logits");
  requireRank(logits, 2, "[N, classes]", where, "logits");
  const opts = checkOptionsObject(options, ["grad"], where, "options");
  const wantGrad = booleanOption(opts.grad, true, where, "options.grad");
  const [batch, classes] = logits.shape as [number, number];
  checkLabels(labels, batch, classes, where);
  const grad = wantGrad ? allocateTensor(runtime, logits.shape, where) : null;
  try {
    const loss = withLabels(runtime, labels, where, (labelsAddress) =>
      runtime.kernels.softmaxCrossEntropy(logitsAddress, labelsAddress, grad?._address ?? 0, batch, classes));
    return { loss, grad };
  } catch (error) {
    grad?.dispose();
    throw error;
  }
}

/** mseLoss's answer; G is the gradient's type (Tensor when it was asked for, as by default). */
export interface MseLossResult<G extends Tensor | null = Tensor | null> {
  /** (1/n) Σ (pred − target)² over all n elements (float32 terms, summed in float64 blocks). */
  loss: number;
  /** dL/dpred = 2(pred − target)/n, shaped like pred; null with { grad: false }. */
  grad: G;
}

/** The mean squared error of pred against target, of one shape (torch.nn.functional.mse_loss, reduction "mean"), and its gradient. */
export function mseLoss(pred: Tensor, target: Tensor, options: { grad: false }): MseLossResult<null>;
export function mseLoss(pred: Tensor, target: Tensor, options?: { grad?: true }): MseLossResult<Tensor>;
export function mseLoss(pred: Tensor, target: Tensor, options?: { grad?: boolean }): MseLossResult;
export function mseLoss(pred: Tensor, target: Tensor, options?: { grad?: boolean }): MseLossResult {
  const where = "mseLoss";
  const runtime = runtimeOf(pred, where, "pred");
  const predAddress = tensorAddress(pred, runtime, where, "pred");
  const targetAddress = tensorAddress(target, runtime, where, "target");
  if (!sameShape(pred.shape, target.shape)) {
    fail(ErrorCode.SHAPE_MISMATCH, where, "target", `pred's shape ${shapeText(pred.shape)}`, `shape ${shapeText(target.shape)}`);
  }
  const opts = checkOptionsObject(options, ["grad"], where, "options");
  const grad = booleanOption(opts.grad, true, where, "options.grad") ? allocateTensor(runtime, pred.shape, where) : null;
  let loss = 0;
  runKernel([grad], () => {
    loss = runtime.kernels.mseLoss(predAddress, targetAddress, grad?._address ?? 0, pred.size);
  });
  return { loss, grad };
}

/** How many rows of logits [N, classes] have their largest value (the first, on ties) at the label; NaN rows never do. */
export function countCorrect(logits: Tensor, labels: Labels): number {
  const where = "countCorrect";
  const runtime = runtimeOf(logits, where, "logits");
  const logitsAddress = tensorAddress(logits, runtime, where, "logits");
  requireRank(logits, 2, "[N, classes]", where, "logits");
  const [batch, classes] = logits.shape as [number, number];
  checkLabels(labels, batch, classes, where);
  return withLabels(runtime, labels, where, (labelsAddress) => runtime.kernels.countCorrect(logitsAddress, labelsAddress, batch, classes));
}

function checkLabels(labels: unknown, batch: number, classes: number, where: string): asserts labels is Labels {
  const integerArray = ArrayBuffer.isView(labels) && !(labels instanceof DataView) && !(labels instanceof Float32Array) &&
    !(labels instanceof Float64Array) && !(labels instanceof BigInt64Array) && !(labels instanceof BigUint64Array);
  if (!Array.isArray(labels) && !integerArray) {
    fail(ErrorCode.LABEL, where, "labels", "an Int32Array (or another integer typed array) or an array of integers", describe(labels));
  }
  const list = labels as ArrayLike<unknown>;
  if (list.length !== batch) fail(ErrorCode.LABEL, where, "labels", `${batch} labels (one per row of logits)`, `${list.length} labels`);
  for (let i = 0; i < batch; i++) {
    const label = list[i];
    if (typeof label !== "number" || !Number.isInteger(label) || label < 0 || label >= classes) {
      fail(ErrorCode.LABEL, where, `labels[${i}]`, `an integer class index in [0, ${classes})`, describe(label));
    }
  }
}

// The labels live in wasm only for the kernel call: copied in, used, freed.
function withLabels<T>(runtime: Runtime, labels: Labels, where: string, use: (address: number) => T): T {
  const address = runtime.allocator.allocate(labels.length * 4, where);
  try {
    new Int32Array(runtime.kernels.memory.buffer, address, labels.length).set(labels);
    return use(address);
  } finally {
    runtime.allocator.free(address);
  }
}
