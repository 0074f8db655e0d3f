// The portable suite's part for model files: safetensors and ONNX written and read back from bytes alone (no file system, no network), and a PyTorch-written LeNet the runner hands over as bytes.

import type * as Api from "../../dist/index.js";
import type * as Onnx from "../../dist/onnx/index.js";
import { randomData } from "./cases.ts";
import { errorCaseProblem, type ErrorCase } from "./error-cases.ts";

type ConvApi = typeof Api;
export type OnnxApi = typeof Onnx;

/** The PyTorch-written files (test/fixtures/models/, see its README) every runner reads its own way and passes as bytes. */
export const MODEL_FIXTURE_DIR = "test/fixtures/models/";
export const MODEL_FIXTURES = ["lenet.onnx", "lenet-io.safetensors"] as const;
export type ModelFixtures = Record<(typeof MODEL_FIXTURES)[number], Uint8Array>;

/** What the model-file checks need besides the package: its wasm-conv2d/onnx subpath, as the runtime loaded it, and the fixtures' bytes. */
export interface ModelInputs {
  onnx: OnnxApi;
  fixtures: ModelFixtures;
}

/** Each fixture through `read` (a file read, a fetch, a module import), as a plain Uint8Array copy. */
export async function readModelFixtures(read: (name: string) => Promise<Uint8Array | ArrayBuffer>): Promise<ModelFixtures> {
  const entries = await Promise.all(MODEL_FIXTURES.map(async (name) => [name, new Uint8Array(await read(name))] as const));
  return Object.fromEntries(entries) as ModelFixtures;
}

/** Hex SHA-256 of bytes (crypto.subtle exists in all five runtimes). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // Never a SharedArrayBuffer's view here (saveSafetensors, exportOnnx and hash.ts allocate plain ones).
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The fixtures as the repository holds them: a transport that changed a byte (text decoding, say) fails here, naming the file. */
const FIXTURE_BYTES: Record<(typeof MODEL_FIXTURES)[number], number> = { "lenet.onnx": 46_230, "lenet-io.safetensors": 59_236 };

/** Where each check puts the bytes that join the results hash (null: only checking). */
type Sink = ArrayBufferView[] | null;

const INPUT_SHAPE = [2, 3, 12, 12] as const;
const TRAIN_SHAPE = [4, 3, 12, 12] as const;
const LABELS = [3, 0, 7, 9];

/**
 * The model every check saves and loads: convolution, batch norm, pooling, a residual block, a global
 * pool and a classifier, weights from `seed`, `seed + 1`, …
 */
export function smallModel(api: ConvApi, runtime: Api.Runtime, seed: number): Api.Sequential {
  const conv = (inChannels: number, outChannels: number, bias: boolean, s: number) =>
    new api.Conv2d({ inChannels, outChannels, kernelSize: 3, pad: 1, bias, seed: s, runtime });
  return new api.Sequential([
    conv(3, 8, true, seed), new api.BatchNorm2d({ numFeatures: 8, runtime }), new api.ReLU(), new api.MaxPool2d({ kernelSize: 2 }),
    new api.Residual(new api.Sequential([
      conv(8, 8, false, seed + 1), new api.BatchNorm2d({ numFeatures: 8, momentum: 0.3, runtime }), new api.ReLU(),
      conv(8, 8, false, seed + 2), new api.BatchNorm2d({ numFeatures: 8, eps: 1e-3, runtime }),
    ])),
    new api.ReLU(), new api.AdaptiveAvgPool2d(1), new api.Flatten(), new api.Linear({ inFeatures: 8, outFeatures: 10, seed: seed + 3, runtime }),
  ]);
}

/** Two training-mode forwards on seeded batches: the running statistics move off 0 and 1, num_batches_tracked to 2. */
function moveStatistics(api: ConvApi, runtime: Api.Runtime, model: Api.Layer): void {
  model.train?.();
  for (const s of [41, 42]) api.scope(() => { model.forward(api.tensor(randomData(s, size(TRAIN_SHAPE)), TRAIN_SHAPE, runtime)); });
}

/** The eval-mode output for the fixed input. */
function evalOutput(api: ConvApi, runtime: Api.Runtime, model: Api.Layer): Float32Array {
  model.eval?.();
  return api.scope(() => read(model.forward(api.tensor(randomData(43, size(INPUT_SHAPE)), INPUT_SHAPE, runtime))));
}

/**
 * A forward output's values, the tensor then freed: an OnnxModel's output escapes scope() (import.ts
 * keep()s it and hands it to the caller), where every other layer's is the scope's.
 */
function read(y: Api.Tensor): Float32Array {
  const values = y.toFloat32Array();
  y.dispose();
  return values;
}

/** One training step (forward, softmax cross-entropy on fixed labels, backward): the loss and every parameter's gradient by name. */
function trainingStep(api: ConvApi, runtime: Api.Runtime, model: Api.Layer, x: Float32Array, shape: readonly number[], labels: ArrayLike<number>) {
  model.train?.();
  model.zeroGrad();
  return api.scope(() => {
    const y = model.forward(api.tensor(x, shape, runtime));
    const { loss, grad } = api.softmaxCrossEntropy(y, Array.from(labels));
    model.backward(grad, { inputGrad: false });
    y.dispose(); // see read()
    return { loss, grads: model.parameters().map((p) => [p.name, p.grad.toFloat32Array()] as const) };
  });
}

/**
 * saveSafetensors → bytes → loadSafetensors → loadStateDict into a model of other weights: both give
 * the same eval output bit for bit and the same bytes saved again; truncated and hostile files throw
 * ERR_MODEL_FILE. The bytes join the hash (so they are Node's, byte for byte).
 */
export async function safetensorsRoundTrip(api: ConvApi, runtime: Api.Runtime, sink: Sink = null): Promise<string | null> {
  const a = smallModel(api, runtime, 11);
  const b = smallModel(api, runtime, 31);
  try {
    moveStatistics(api, runtime, a);
    const bytes = api.saveSafetensors(a, { metadata: { format: "pt", written: "portable suite" } });
    const dict = api.loadSafetensors(bytes);
    const names = Object.keys(a.stateDict());
    if (Object.keys(dict).join() !== names.join()) return `loadSafetensors gave keys ${Object.keys(dict)}, the model has ${names}`;
    const counter = dict["1.num_batches_tracked"];
    if (counter?.dtype !== "I64" || (counter.data as BigInt64Array)[0] !== 2n) return `1.num_batches_tracked is ${counter?.dtype} ${counter?.data}, expected I64 2`;
    const variance = dict["4.main.1.running_var"]?.data as Float32Array | undefined;
    if (!variance || variance.every((v) => v === 1)) return "the running variance was saved at its default (the training forwards did not move it)";
    const wanted = evalOutput(api, runtime, a);
    if (sameBits(evalOutput(api, runtime, b), wanted) === null) return "the second model gives the first one's output before loading (different seeds should differ)";
    const result = b.loadStateDict(dict);
    if (result.missingKeys.length || result.unexpectedKeys.length) return `loadStateDict: missing ${result.missingKeys}, unexpected ${result.unexpectedKeys}`;
    const problem = sameBits(evalOutput(api, runtime, b), wanted);
    if (problem) return `the loaded model's eval output differs from the saved one's: ${problem}`;
    const again = api.saveSafetensors(b, { metadata: { format: "pt", written: "portable suite" } });
    if (sameBytes(again, bytes) !== null) return `the loaded model saved again gives other bytes: ${sameBytes(again, bytes)}`;
    const withoutWeight = Object.fromEntries(Object.entries(dict).filter(([k]) => k !== "0.weight"));
    const hostile = new Uint8Array(64);
    new DataView(hostile.buffer).setBigUint64(0, 2n ** 31n, true);
    const { ErrorCode: E } = api;
    const cases: ErrorCase[] = [
      ["a safetensors file without its last byte", E.MODEL_FILE, () => api.loadSafetensors(bytes.subarray(0, bytes.length - 1))],
      ["a safetensors file cut inside its header", E.MODEL_FILE, () => api.loadSafetensors(bytes.slice(0, 40))],
      ["a safetensors header length of 2^31", E.MODEL_FILE, () => api.loadSafetensors(hostile)],
      // All or nothing: the new 0.bias must not be written either.
      ["a state dict without 0.weight", E.STATE_DICT, () => b.loadStateDict({ ...withoutWeight, "0.bias": { shape: [8], data: new Float32Array(8) } })],
    ];
    if (E.MODEL_FILE !== "ERR_MODEL_FILE") return `ErrorCode.MODEL_FILE is ${E.MODEL_FILE}`;
    const refused = errorCaseProblem(api, runtime, cases);
    if (refused) return refused;
    if (sameBits(evalOutput(api, runtime, b), wanted) !== null) return "a refused loadStateDict changed the model";
    sink?.push(bytes, wanted);
    return null;
  } finally {
    a.dispose();
    b.dispose();
  }
}

/**
 * exportOnnx → bytes (the same twice) → importOnnx → the eval output bit for bit; then one training
 * step of the imported model, its loss and gradients those of the model it came from. The bytes,
 * output and gradients join the hash.
 */
export async function onnxRoundTrip(api: ConvApi, onnx: OnnxApi, runtime: Api.Runtime, sink: Sink = null): Promise<string | null> {
  const model = smallModel(api, runtime, 11);
  let imported: Api.Layer | null = null;
  try {
    moveStatistics(api, runtime, model);
    model.eval();
    const bytes = onnx.exportOnnx(model, { inputShape: INPUT_SHAPE });
    const twice = sameBytes(onnx.exportOnnx(model, { inputShape: INPUT_SHAPE }), bytes);
    if (twice) return `exportOnnx wrote other bytes the second time: ${twice}`;
    imported = onnx.importOnnx(bytes, { runtime });
    const wanted = evalOutput(api, runtime, model);
    const problem = sameBits(evalOutput(api, runtime, imported), wanted);
    if (problem) return `the imported model's eval output differs: ${problem}`;
    const { ErrorCode: E } = api;
    const refused = errorCaseProblem(api, runtime, [
      ["ONNX bytes cut in half", E.MODEL_FILE, () => onnx.importOnnx(bytes.subarray(0, bytes.length >> 1), { runtime })],
    ]);
    if (refused) return refused;
    const x = randomData(44, size(TRAIN_SHAPE));
    const theirs = trainingStep(api, runtime, imported, x, TRAIN_SHAPE, LABELS);
    const original = trainingStep(api, runtime, model, x, TRAIN_SHAPE, LABELS);
    const ours = new Map(original.grads);
    if (!Number.isFinite(theirs.loss) || theirs.loss !== original.loss) return `the imported model's training loss is ${theirs.loss}, the model's ${original.loss}`;
    for (const [name, grad] of theirs.grads) {
      const own = ours.get(name);
      if (!own) return `the imported model has a parameter "${name}" the model has not (${[...ours.keys()]})`;
      const g = sameBits(grad, own);
      if (g) return `"${name}".grad after a training step differs from the original model's: ${g}`;
      if (grad.every((v) => v === 0)) return `"${name}".grad is all zeros`;
    }
    if (theirs.grads.length !== ours.size) return `the imported model has ${theirs.grads.length} parameters, the model ${ours.size}`;
    sink?.push(bytes, wanted, Float64Array.of(theirs.loss), ...theirs.grads.map(([, g]) => g));
    return null;
  } finally {
    imported?.dispose();
    model.dispose();
  }
}

/** max |a − b| / max(1, max |b|), as "within 1e-4" means it in test/helpers/torch-fixtures.ts. */
function scaledError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0, scale = 1;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return Number.isNaN(diff) ? Infinity : diff / scale;
}

/**
 * lenet.onnx, written by torch.onnx.export, imported from the bytes the runner passed: PyTorch's eval
 * logits (lenet-io.safetensors) within 1e-4, and one training step's loss within 1e-5 and gradients
 * within 1e-3 of PyTorch's. The fixtures' bytes, the logits and the gradients join the hash.
 */
export async function pytorchLenet(api: ConvApi, onnx: OnnxApi, runtime: Api.Runtime, fixtures: ModelFixtures, sink: Sink = null): Promise<string | null> {
  for (const name of MODEL_FIXTURES) {
    const bytes = fixtures?.[name];
    if (!(bytes instanceof Uint8Array)) return `the runner passed no bytes for ${name}`;
    if (bytes.length !== FIXTURE_BYTES[name]) return `${name} arrived as ${bytes.length} bytes, not ${FIXTURE_BYTES[name]}`;
  }
  const io = api.loadSafetensors(fixtures["lenet-io.safetensors"]);
  const x = io.x!, labels = Array.from(io.labels!.data as BigInt64Array, Number);
  const logitsEval = io.logits_eval!.data as Float32Array;
  const lenet = onnx.importOnnx(fixtures["lenet.onnx"], { runtime });
  try {
    lenet.eval();
    const logits = api.scope(() => read(lenet.forward(api.tensor(x.data as Float32Array, x.shape, runtime))));
    const error = scaledError(logits, logitsEval);
    if (!(error < 1e-4)) return `eval logits ${error} from PyTorch's (scaled), more than 1e-4`;
    const step = trainingStep(api, runtime, lenet, x.data as Float32Array, x.shape, labels);
    const lossTrain = (io.loss_train!.data as Float32Array)[0]!;
    if (!(Math.abs(step.loss - lossTrain) < 1e-5 * Math.max(1, lossTrain))) return `training loss ${step.loss}, PyTorch's ${lossTrain}`;
    for (const [name, grad] of step.grads) {
      const want = io[`grad.${name}`]?.data as Float32Array | undefined;
      if (!want) return `PyTorch has no gradient for "${name}"`;
      const e = scaledError(grad, want) / Math.max(1e-8, ...Array.from(want, Math.abs));
      if (!(e < 1e-3)) return `"${name}".grad ${e} from PyTorch's (relative to its largest), more than 1e-3`;
    }
    if (step.grads.length !== Object.keys(io).filter((k) => k.startsWith("grad.")).length) return `${step.grads.length} parameters, PyTorch's file has other gradients`;
    sink?.push(fixtures["lenet.onnx"], fixtures["lenet-io.safetensors"], logits, Float64Array.of(step.loss), ...step.grads.map(([, g]) => g));
    return null;
  } finally {
    lenet.dispose();
  }
}

/** A check's problem, or the bytes in use it left behind (each model and tensor it made must be freed), or null. */
export async function leakFree(runtime: Api.Runtime, check: () => Promise<string | null>): Promise<string | null> {
  const before = runtime.memoryUsage().bytesInUse;
  const problem = await check();
  const after = runtime.memoryUsage().bytesInUse;
  return problem ?? (after === before ? null : `${after - before} bytes in use left behind`);
}

/** The model files' share of the results hash: every check's bytes, outputs and gradients, in order; a failed check throws (nothing wrong is hashed). */
export async function modelResults(api: ConvApi, models: ModelInputs, runtime: Api.Runtime): Promise<ArrayBufferView[]> {
  const parts: ArrayBufferView[] = [];
  const problem = (await safetensorsRoundTrip(api, runtime, parts)) ?? (await onnxRoundTrip(api, models.onnx, runtime, parts))
    ?? (await pytorchLenet(api, models.onnx, runtime, models.fixtures, parts));
  if (problem) throw new Error(`model files: ${problem}`);
  return parts;
}

/** SHA-256 prefixes of the safetensors and ONNX bytes this runtime wrote, for a report to show which part of a hash moved. */
export async function modelFileDigests(api: ConvApi, onnx: OnnxApi, runtime: Api.Runtime): Promise<string> {
  const model = smallModel(api, runtime, 11);
  try {
    moveStatistics(api, runtime, model);
    model.eval();
    const st = await sha256Hex(api.saveSafetensors(model, { metadata: { format: "pt", written: "portable suite" } }));
    const ox = await sha256Hex(onnx.exportOnnx(model, { inputShape: INPUT_SHAPE }));
    return `safetensors sha256 ${st.slice(0, 16)}…, onnx sha256 ${ox.slice(0, 16)}…`;
  } finally {
    model.dispose();
  }
}

/** null when a and b are the same float32 bits (NaN payloads and −0 included), else the first difference. */
function sameBits(a: Float32Array, b: Float32Array): string | null {
  if (a.length !== b.length) return `${a.length} values, expected ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length), ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < a.length; i++) if (ua[i] !== ub[i]) return `element ${i}: ${a[i]}, expected ${b[i]}`;
  return null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): string | null {
  if (a.length !== b.length) return `${a.length} bytes, expected ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]}, expected ${b[i]}`;
  return null;
}

const size = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);
